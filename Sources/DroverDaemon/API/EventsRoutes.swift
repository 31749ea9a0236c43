import DroverWire
import Foundation
import Hummingbird
import NIOCore

/// Events: `since`, `subject`; `follow=1` streams them as newline-delimited JSON.
extension APIServer {
    func addEventsRoutes(to router: APIRouter) {
        on(Routes.events, in: router) { request, context in
            let since = request.uri.queryParameters["since"].flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0) }
            let subject = request.uri.queryParameters["subject"].map(String.init)
            let follow = request.uri.queryParameters["follow"] == "1"
            await supervisor.syncWrites()
            let first = try store.events(after: 0, since: since, subject: subject)
            guard follow else { return try json(first) }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init { writer in
                var last: Int64 = 0
                var batch = first
                while following(context.channel) {
                    for event in batch {
                        var line = try JSONEncoder.sorted.encode(event)
                        line.append(UInt8(ascii: "\n"))
                        try await writer.write(ByteBuffer(bytes: line))
                        last = event.id
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    // `since` holds for the whole stream: when nothing that recent was there at first,
                    // `last` is still 0 and the next read would otherwise be the whole history.
                    batch = try store.events(after: last, since: since, subject: subject)
                }
                try await writer.finish(nil)
            })
        }
    }
}
