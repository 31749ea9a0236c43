@testable import DroverProxy
import Testing

/// The balancing rule alone: least connections, ties in rotation, unpublished never picked.
@Suite struct BackendBalancerRules {
    enum Step: Sendable {
        /// Pick (counting a connection); nil when nothing is left to pick.
        case pick(expect: String?, excluding: Set<String> = [])
        case release(String)
        case publish([String], appeared: Bool)
        case active([String: Int])
    }

    struct Script: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var steps: [Step]
    }

    @Test(arguments: [
        Script(testDescription: "equal load rotates", steps: [
            .publish(["a", "b", "c"], appeared: true),
            .pick(expect: "a"), .pick(expect: "b"), .pick(expect: "c"), .pick(expect: "a"),
            .active(["a": 2, "b": 1, "c": 1]),
        ]),
        Script(testDescription: "the least busy wins over the rotation", steps: [
            .publish(["a", "b", "c"], appeared: true),
            .pick(expect: "a"), .pick(expect: "b"), .pick(expect: "c"),
            .release("b"),
            .pick(expect: "b"), .pick(expect: "c"), .pick(expect: "a"),
            .release("a"), .release("a"),
            .pick(expect: "a"),
            .active(["a": 1, "b": 1, "c": 2]),
        ]),
        Script(testDescription: "tried backends are skipped", steps: [
            .publish(["a", "b", "c"], appeared: true),
            .pick(expect: "c", excluding: ["a", "b"]),
            .pick(expect: "b", excluding: ["a", "c"]),
            .pick(expect: nil, excluding: ["a", "b", "c"]),
            .active(["b": 1, "c": 1]),
        ]),
        Script(testDescription: "nothing published, nothing picked", steps: [
            .pick(expect: nil),
            .publish([], appeared: false),
            .pick(expect: nil),
        ]),
        Script(testDescription: "unpublished: never picked, its connections still counted", steps: [
            .publish(["a", "b"], appeared: true),
            .pick(expect: "a"), .pick(expect: "b"),
            .publish(["b", "c"], appeared: true),
            .pick(expect: "c"), .pick(expect: "b"), .pick(expect: "c"),
            .active(["a": 1, "b": 2, "c": 2]),
            .release("a"),
            .active(["b": 2, "c": 2]),
        ]),
        Script(testDescription: "only a new backend counts as appeared", steps: [
            .publish(["a", "b"], appeared: true),
            .publish(["b", "a", "a"], appeared: false),
            .publish(["b"], appeared: false),
            .publish(["b", "a"], appeared: true),
        ]),
    ])
    func script(_ script: Script) {
        func backend(_ id: String) -> ServiceProxy.Backend { .init(id: id, host: "127.0.0.1", port: 8000) }
        var balancer = BackendBalancer()
        for (number, step) in script.steps.enumerated() {
            switch step {
            case .pick(let expected, let excluding):
                let picked = balancer.pick(excluding: Set(excluding.map(backend)))
                #expect(picked?.id == expected, "step \(number)")
            case .release(let id):
                balancer.release(backend(id))
            case .publish(let ids, let appeared):
                #expect(balancer.publish(ids.map(backend)) == appeared, "step \(number)")
            case .active(let expected):
                #expect(Dictionary(uniqueKeysWithValues: balancer.active.map { ($0.key.id, $0.value) }) == expected,
                        "step \(number)")
            }
        }
    }
}
