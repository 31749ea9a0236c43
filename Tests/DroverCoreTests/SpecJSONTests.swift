import DroverCore
import Foundation
import Testing

/// JobSpec's JSON (docs/API.md): durations as seconds, signals by name; droverd's store keeps
/// specs as this JSON, and what an earlier droverd stored must decode to the same spec, or the
/// next apply would count every job as changed and roll its replicas.
@Suite struct SpecJSON {
    static func spec(initial: Duration = .milliseconds(100), max: Duration = .seconds(60), resetAfter: Duration = .seconds(300),
                     grace: Duration = .seconds(30), signal: Int32 = 15,
                     period: Duration = .seconds(1), timeout: Duration = .seconds(1)) -> JobSpec {
        JobSpec(name: "web", command: ["/bin/web", "--port", "${PORT_HTTP}"], ports: ["http"],
                restart: JobSpec.Restart(policy: .always, backoff: JobSpec.Backoff(initial: initial, max: max, resetAfter: resetAfter)),
                lameduck: JobSpec.Lameduck(signal: signal, grace: grace),
                health: JobSpec.Health(ready: JobSpec.HealthCheck(probe: .http(path: "/healthz", port: "http"), period: period, timeout: timeout),
                                       live: JobSpec.HealthCheck(probe: .exec(command: ["/bin/check"]), period: period, timeout: timeout)))
    }

    static func encoded(_ spec: JobSpec) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(spec))
    }

    static let durations: [Duration] = [
        .zero, .nanoseconds(1), .milliseconds(1), .milliseconds(100), .milliseconds(250), .milliseconds(1500),
        .seconds(1), .seconds(30), .milliseconds(86_399_999), .seconds(86_400), .nanoseconds(86_399_999_999_999),
        .milliseconds(123_456_789), .milliseconds(-1500),
    ]

    /// Each duration in each place comes back exactly.
    @Test(arguments: durations)
    func durationsRoundTrip(duration: Duration) throws {
        for spec in [Self.spec(initial: duration), Self.spec(max: duration), Self.spec(resetAfter: duration),
                     Self.spec(grace: duration), Self.spec(period: duration), Self.spec(timeout: duration)] {
            let decoded = try JSONDecoder().decode(JobSpec.self, from: JSONEncoder().encode(spec))
            #expect(decoded == spec, "\(duration)")
        }
    }

    @Test(arguments: [Int32(1), 2, 9, 10, 12, 15, 28, 34, 64])
    func signalsRoundTrip(signal: Int32) throws {
        let spec = Self.spec(signal: signal)
        #expect(try JSONDecoder().decode(JobSpec.self, from: JSONEncoder().encode(spec)) == spec)
    }

    /// What `inspect --json` and `ps --json` show: seconds as JSON numbers, the signal's name.
    @Test(arguments: [
        (Duration.seconds(30), JSONValue.integer(30)),
        (.milliseconds(100), .number(0.1)),
        (.milliseconds(1500), .number(1.5)),
        (.milliseconds(86_399_999), .number(86399.999)),
        (.zero, .integer(0)),
        (.milliseconds(-1500), .number(-1.5)),
    ])
    func durationsAreSeconds(duration: Duration, seconds: JSONValue) throws {
        let document = try Self.encoded(Self.spec(initial: duration, max: duration, resetAfter: duration, grace: duration,
                                                  period: duration, timeout: duration))
        for path in Self.durationPaths {
            #expect(document.at(path) == seconds, "\(path)")
        }
    }

    /// The exact text, not only the number: `0.1`, never `0.10000000000000001`.
    @Test func shortestText() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(Self.spec(initial: .milliseconds(100), grace: .milliseconds(86_399_999))), as: UTF8.self)
        #expect(text.contains("\"initial\":0.1,"))
        #expect(text.contains("\"grace\":86399.999"))
        #expect(text.contains("\"max\":60,"))
    }

    @Test(arguments: [
        (Int32(15), JSONValue.string("SIGTERM")),
        (2, .string("SIGINT")),
        (10, .string("SIGUSR1")),
        (28, .string("SIGWINCH")),
        // No name in Signals (a real-time signal): the number.
        (34, .integer(34)),
    ])
    func signalsByName(signal: Int32, written: JSONValue) throws {
        #expect(try Self.encoded(Self.spec(signal: signal)).at("lameduck.signal") == written)
    }

    /// A spec as droverd stored it before this form: Swift's own Duration coding (the
    /// attoseconds' high and low 64 bits; 30 s is `[1, 11553255926290448384]`) and the
    /// signal's number.
    static let storedByEarlierDroverd = """
        {"capabilities":[],"command":["/bin/web","--port","${PORT_HTTP}"],"environment":{},\
        "health":{"live":{"failures":3,"period":[0,1000000000000000000],"probe":{"exec":{"command":["/bin/check"]}},"timeout":[0,1000000000000000000]},\
        "ready":{"failures":3,"period":[0,1000000000000000000],"probe":{"http":{"path":"/healthz","port":"http"}},"timeout":[0,1000000000000000000]}},\
        "hostRoot":false,"kind":"serving","lameduck":{"grace":[1,11553255926290448384],"signal":15},"name":"web","network":"host",\
        "ports":["http"],"priority":"production","replicas":1,"resources":{},\
        "restart":{"backoff":{"initial":[0,100000000000000000],"jitter":0.1,"max":[3,4659767778871345152],"multiplier":2,\
        "resetAfter":[16,4852094820647174144]},"maxFailures":6,"policy":"always"},"workdir":"/","writable":[]}
        """

    @Test func earlierStoredFormDecodesToTheSameSpec() throws {
        let decoded = try JSONDecoder().decode(JobSpec.self, from: Data(Self.storedByEarlierDroverd.utf8))
        #expect(decoded == Self.spec())
        // The literal above is indeed Swift's coding of these durations.
        #expect(String(decoding: try JSONEncoder().encode(Duration.seconds(30)), as: UTF8.self) == "[1,11553255926290448384]")
    }

    static let durationPaths = ["restart.backoff.initial", "restart.backoff.max", "restart.backoff.resetAfter", "lameduck.grace",
                                "health.ready.period", "health.ready.timeout", "health.live.period", "health.live.timeout"]

    /// Any spec in the old form, durations of every kind: the same spec.
    @Test(arguments: durations)
    func earlierFormOfEachDuration(duration: Duration) throws {
        let spec = Self.spec(initial: duration, max: duration, resetAfter: duration, grace: duration, period: duration, timeout: duration)
        let old = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(duration))
        var document = try Self.encoded(spec)
        for path in Self.durationPaths { document.replace(path, with: old) }
        document.replace("lameduck.signal", with: .integer(15))
        #expect(Self.durationPaths.allSatisfy { document.at($0) == old })
        #expect(try JSONDecoder().decode(JobSpec.self, from: JSONEncoder().encode(document)) == spec)
    }

    @Test(arguments: ["TERM", "sigterm", "15"])
    func signalsAsUsersWriteThem(written: String) throws {
        let text = Self.storedByEarlierDroverd.replacingOccurrences(of: "\"signal\":15", with: "\"signal\":\"\(written)\"")
        #expect(try JSONDecoder().decode(JobSpec.self, from: Data(text.utf8)).lameduck.signal == 15)
    }

    /// A hand-edited store: refused with a decoding error (droverd names the job), not a trap.
    @Test(arguments: ["\"signal\":\"SIGFOO\"", "\"grace\":1e300", "\"grace\":-1e300", "\"grace\":\"30s\"", "\"grace\":[1]"])
    func unreadableValuesAreErrors(replacement: String) throws {
        let key = replacement.hasPrefix("\"signal\"") ? "\"signal\":15" : "\"grace\":[1,11553255926290448384]"
        let text = Self.storedByEarlierDroverd.replacingOccurrences(of: key, with: replacement)
        #expect(text != Self.storedByEarlierDroverd)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(JobSpec.self, from: Data(text.utf8)) }
    }
}

extension JSONValue {
    /// Sets the value at a dotted path of objects that exist.
    mutating func replace(_ path: String, with value: JSONValue) {
        let keys = path.split(separator: ".").map(String.init)
        guard case .object(var fields) = self, let first = keys.first, fields[first] != nil else { return }
        if keys.count == 1 {
            fields[first] = value
        } else {
            fields[first]!.replace(keys.dropFirst().joined(separator: "."), with: value)
        }
        self = .object(fields)
    }
}
