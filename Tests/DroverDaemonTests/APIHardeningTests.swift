import DroverClient
import DroverTestSupport
import DroverWire
import Foundation
import Glibc
import Testing

/// Issue 12, the API: every refusal is JSON, request ids belong to one request, clients cannot
/// hold droverd's descriptors or its shutdown. Raw Unix-socket clients, to send what
/// DroverClient never would. Part of DaemonTests: one daemon at a time.
extension DaemonTests {
    /// A raw connection to droverd's socket; closed on deinit.
    final class RawConnection {
        let fd: Int32

        init(_ path: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw RawError.failed("socket: errno \(errno)") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                let code = errno
                close(fd)
                throw RawError.failed("connect: errno \(code)")
            }
        }

        deinit { close(fd) }

        /// Sends what it can (the server may close first: that is not an error here).
        func send(_ text: String) { send(Array(text.utf8)) }

        func send(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                offset += sent
            }
        }

        /// Everything until the server closes (or `timeout`): nil if it did not close in time.
        func readToClose(timeout: Double) -> String? {
            var data = [UInt8]()
            let deadline = monotonicSeconds() + timeout
            var buffer = [UInt8](repeating: 0, count: 65536)
            while monotonicSeconds() < deadline {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) > 0 else { continue }
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { return String(decoding: data, as: UTF8.self) }
                data += buffer[..<count]
            }
            return nil
        }

        /// Reads until `marker` shows up (or `timeout`).
        func read(until marker: String, timeout: Double) -> String {
            var data = [UInt8]()
            let deadline = monotonicSeconds() + timeout
            var buffer = [UInt8](repeating: 0, count: 65536)
            while monotonicSeconds() < deadline, !String(decoding: data, as: UTF8.self).contains(marker) {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) > 0 else { continue }
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                data += buffer[..<count]
            }
            return String(decoding: data, as: UTF8.self)
        }
    }

    enum RawError: Error { case failed(String) }

    /// One raw exchange: status, headers (lowercased names), body.
    struct RawAnswer {
        var status: Int
        var headers: [String: String]
        var body: String
        var error: ErrorBody? { try? JSONDecoder().decode(ErrorBody.self, from: Data(body.utf8)) }
    }

    /// Sends `request` on a new connection and reads the first response (connection: close).
    func raw(_ daemon: TestDaemon, _ request: String) throws -> RawAnswer? {
        let connection = try RawConnection(daemon.socket)
        connection.send(request)
        guard let text = connection.readToClose(timeout: 15) else { return nil }
        return parseAnswer(text)
    }

    func parseAnswer(_ text: String) -> RawAnswer? {
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        guard let first = lines.first, let status = first.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = String(text[split.upperBound...])
        if let length = headers["content-length"].flatMap({ Int($0) }) { body = String(body.utf8.prefix(length))! }
        return RawAnswer(status: status, headers: headers, body: body)
    }

    /// Asserts a JSON `{error, detail}` refusal with `status`; returns it.
    @discardableResult
    func expectJSONError(_ answer: RawAnswer?, _ status: Int, _ what: String,
                         sourceLocation: SourceLocation = #_sourceLocation) -> ErrorBody? {
        #expect(answer?.status == status, "\(what): \(String(describing: answer))", sourceLocation: sourceLocation)
        #expect(answer?.headers["content-type"] == "application/json", "\(what): \(String(describing: answer))", sourceLocation: sourceLocation)
        let error = answer?.error
        #expect(error != nil && !(error?.detail.isEmpty ?? true), "\(what): a JSON {error, detail}: \(String(describing: answer))",
                sourceLocation: sourceLocation)
        return error
    }

    // MARK: error bodies

    @Test func apiEveryRefusalIsJSON() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let host = "Host: droverd\r\nConnection: close\r\n"

        let unknown = expectJSONError(try raw(daemon, "GET /v1/nothing HTTP/1.1\r\n\(host)\r\n"), 404, "unknown route")
        #expect(unknown?.detail == "no route GET /v1/nothing")

        let method = try raw(daemon, "PUT /v1/jobs HTTP/1.1\r\n\(host)Content-Length: 0\r\n\r\n")
        expectJSONError(method, 405, "wrong method")
        #expect(method?.headers["allow"] == "GET", "\(String(describing: method))")

        let garbage = expectJSONError(try raw(daemon, "NOT HTTP AT ALL\r\n\r\n"), 400, "a line the parser refuses")
        #expect(garbage?.error == "bad request")

        let lyingChunks = try raw(daemon, "POST /v1/drain HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
        expectJSONError(lyingChunks, 400, "a chunk size that is not hex")

        let array = "[1]"
        let topLevel = expectJSONError(try raw(daemon, "POST /v1/evict HTTP/1.1\r\n\(host)Content-Length: \(array.utf8.count)\r\n\r\n\(array)"),
                                       400, "a body that is not an object")
        #expect(topLevel?.detail.contains("expected a JSON object") == true && topLevel?.detail.contains("EvictRequest") == true,
                "\(String(describing: topLevel))")
        #expect(topLevel?.detail.contains("wrong type at \"\"") == false)

        let field = #"{"name": 5}"#
        let fieldError = expectJSONError(try raw(daemon, "POST /v1/evict HTTP/1.1\r\n\(host)Content-Length: \(field.utf8.count)\r\n\r\n\(field)"),
                                         400, "a field of the wrong type")
        #expect(fieldError?.detail.contains("field \"name\": expected a string") == true, "\(String(describing: fieldError))")

        // Announced: refused before any of it is read.
        let announced = expectJSONError(try raw(daemon, "POST /v1/drain HTTP/1.1\r\n\(host)Content-Length: \(17 << 20)\r\n\r\n"),
                                        413, "a body announced over 16 MiB")
        #expect(announced?.detail.contains("16 MiB") == true)
        // Chunked, so only counting tells: refused once past the limit (the rest is read and
        // dropped: the connection stays usable).
        let connection = try RawConnection(daemon.socket)
        connection.send("POST /v1/drain HTTP/1.1\r\nHost: droverd\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Array("100000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 1 << 20) + Array("\r\n".utf8)
        for _ in 0..<17 { connection.send(chunk) }
        connection.send("0\r\n\r\n")
        expectJSONError(parseAnswer(connection.read(until: "}", timeout: 15)), 413, "a chunked body over 16 MiB")

        let huge = try raw(daemon, "GET /v1/jobs HTTP/1.1\r\n\(host)X-Big: \(String(repeating: "a", count: 1 << 20))\r\n\r\n")
        let headerError = expectJSONError(huge, 431, "a 1 MiB header")
        #expect(headerError?.detail.contains("64 KiB") == true)

        #expect(try daemon.drover(["ps"]).code == 0, "droverd still answers")
        #expect(daemon.process?.hasExited == false)
    }

    // MARK: request ids

    @Test func apiRequestIDsAreScopedAtomicAndNonEmpty() async throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let web = daemon.job("web")
        try daemon.apply("jobs:\n" + serving(web, replicas: 1, command: [testload, "pause"], extra: "    lameduck: {grace: 1s}"))
        #expect(try eventually { try replicas(daemon, web).first?.state == "ready" })
        let client = DroverClient(socketPath: daemon.socket)

        // 20 at once with one id: one eviction, 20 identical answers. Each request is sent
        // but for its last byte, then the 20 last bytes go out together.
        let id = "evict-\(UUID().uuidString)"
        let body = String(decoding: try JSONEncoder().encode(EvictRequest(name: "\(web)/0", grace: "5s")), as: UTF8.self)
        let request = Array(("POST /v1/evict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nDrover-Request-Id: \(id)\r\n"
                             + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8)
        let connections = try (0..<20).map { _ in try RawConnection(daemon.socket) }
        for connection in connections { connection.send(Array(request.dropLast())) }
        usleep(100_000)
        for connection in connections { connection.send([request.last!]) }
        let answers = connections.map { $0.readToClose(timeout: 15).flatMap(parseAnswer) }
        #expect(answers.allSatisfy { $0?.status == 200 }, "\(answers.map { $0?.status })")
        #expect(Set(answers.map { $0?.body ?? "" }).count == 1, "every repeat got the first answer: \(Set(answers.map { $0?.body ?? "" }))")
        let evictions = try await client.request(.GET, "/v1/events?subject=\(web)/0").decode([Event].self).filter { $0.kind == "evicting" }
        #expect(evictions.count == 1, "ran once: \(evictions.map(\.message))")

        // The same id on another request: refused, and that request not run.
        let other = try await client.request(.POST, "/v1/jobs/\(web)/stop", requestID: id)
        #expect(other.status == 409 && other.apiError.error == "request id reused", "\(other.status) \(other.apiError)")
        let otherBody = try await client.request(.POST, "/v1/evict", json: EvictRequest(name: "\(web)/0", grace: "6s"), requestID: id)
        #expect(otherBody.status == 409, "same route, another body")
        #expect(try await client.request(.GET, "/v1/jobs/\(web)").decode(JobStatus.self).state != "stopped", "stop did not run")
        // An empty id: refused, and nothing done.
        let empty = try await client.request(.POST, "/v1/drain", requestID: "")
        #expect(empty.status == 400 && empty.apiError.error == "bad request id", "\(empty.apiError)")
        #expect(try await client.request(.GET, "/v1/host").decode(HostStatus.self).drained == false, "the empty id did nothing")
        // The very same request again, later: the stored answer.
        let again = try await client.request(.POST, "/v1/evict", json: EvictRequest(name: "\(web)/0", grace: "5s"), requestID: id)
        #expect(again.status == 200 && String(decoding: again.body, as: UTF8.self) == answers.first??.body)
    }

    // MARK: timeouts and the connection cap

    @Test func apiIdleConnectionsAreClosedAndCannotStarveDroverd() throws {
        // 1,000 connections and droverd's `ps`: more descriptors than the usual 1024.
        var files = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        let saved = files
        files.rlim_cur = max(files.rlim_cur, min(files.rlim_max, 4096))
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        defer {
            var restore = saved
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore)
        }
        let daemon = try TestDaemon()
        defer { daemon.destroy() }

        let started = monotonicSeconds()
        let silent = try RawConnection(daemon.socket)
        let halfHeader = try RawConnection(daemon.socket)
        halfHeader.send("GET /v1/jobs HTTP/1.1\r\nHost: dro")
        var held: [RawConnection] = []
        defer { held.removeAll() }
        for _ in 0..<1000 { held.append(try RawConnection(daemon.socket)) }
        let ps = try daemon.drover(["ps"], timeout: 10)
        #expect(ps.code == 0, "ps answers beside 1,000 idle connections: \(ps.stderr)")

        #expect(silent.readToClose(timeout: 20) != nil, "a connection that sends nothing is closed")
        #expect(halfHeader.readToClose(timeout: 20) != nil, "a connection stuck in its header is closed")
        let closedAfter = monotonicSeconds() - started
        #expect(closedAfter >= 9 && closedAfter < 16, "after the 10 s header timeout: \(closedAfter) s")
        #expect(held.last?.readToClose(timeout: 10) != nil, "the held ones too")
        held.removeAll()
        #expect(try daemon.drover(["ps"]).code == 0)
        #expect(daemon.process?.hasExited == false, "droverd is alive")
    }

    @Test func apiConnectionCapDisplacesIdleConnectionsAndRefusesPastBusyOnes() throws {
        setenv("DROVER_API_MAX_CONNECTIONS", "20", 1)
        let started = Result { try TestDaemon() }
        unsetenv("DROVER_API_MAX_CONNECTIONS")
        let daemon = try started.get()
        defer { daemon.destroy() }
        let process = try #require(daemon.process)
        let base = listDirectory("/proc/\(process.pid)/fd").count

        // 30 idle ones under a cap of 20: the oldest give way, droverd holds no more than 20.
        var held: [RawConnection] = []
        for _ in 0..<30 { held.append(try RawConnection(daemon.socket)) }
        usleep(500_000)
        let closed = held.indices.filter { held[$0].readToClose(timeout: 0.05) != nil }
        // The oldest by admission (connections are accepted on several threads: not quite
        // the order they connected in).
        #expect(closed.count == 10, "10 idle connections gave way: \(closed)")
        #expect(closed.filter { $0 >= 20 }.count <= 2, "mostly the oldest: \(closed)")
        let ps = try daemon.drover(["ps"], timeout: 10)
        #expect(ps.code == 0, "ps answers past the cap: \(ps.stderr)")
        #expect(listDirectory("/proc/\(process.pid)/fd").count <= base + 21, "at most 20 connections held")
        held.removeAll()

        // 20 with a request in progress are not displaced: the 21st is refused, as JSON.
        var followers: [RawConnection] = []
        for _ in 0..<20 {
            let follower = try RawConnection(daemon.socket)
            follower.send("GET /v1/events?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(follower.read(until: "\r\n\r\n", timeout: 5).hasPrefix("HTTP/1.1 200"))
            followers.append(follower)
        }
        let refused = try RawConnection(daemon.socket)
        expectJSONError(refused.readToClose(timeout: 5).flatMap(parseAnswer), 503, "past the cap, every connection busy")
        followers.removeAll()
        #expect(eventually { (try? daemon.drover(["ps"]).code) == 0 }, "answers again once they left")
    }

    // MARK: follow streams

    @Test func apiFollowersEndAndDoNotHoldShutdown() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        let request = "GET /v1/events?follow=1 HTTP/1.1\r\nHost: droverd\r\n\r\n"
        let process = try #require(daemon.process)
        func openDescriptors() -> Int { listDirectory("/proc/\(process.pid)/fd").count }
        // One abandoned (the client went away, on a quiet stream: nothing written that could
        // fail), one attached.
        let before = openDescriptors()
        let abandoned = try RawConnection(daemon.socket)
        abandoned.send(request)
        #expect(abandoned.read(until: "\r\n\r\n", timeout: 10).hasPrefix("HTTP/1.1 200"))
        #expect(openDescriptors() == before + 1)
        shutdown(abandoned.fd, Int32(SHUT_RDWR))
        #expect(eventually(timeout: 3) { openDescriptors() == before }, "droverd let go of the abandoned stream")
        let follower = try RawConnection(daemon.socket)
        follower.send(request)
        #expect(follower.read(until: "\r\n\r\n", timeout: 10).hasPrefix("HTTP/1.1 200"))
        usleep(500_000)

        let started = monotonicSeconds()
        process.signal(SIGTERM)
        while !process.hasExited && monotonicSeconds() - started < 10 { usleep(20_000) }
        let took = monotonicSeconds() - started
        #expect(process.hasExited, "droverd exits on SIGTERM with a follower attached")
        #expect(took < 5, "within a bound: \(took) s")
        #expect(follower.readToClose(timeout: 5) != nil, "the stream ended")
    }
}

extension DaemonTests {
    // MARK: fuzz

    /// Malformed HTTP, lying chunked encodings, pipelining, bad JSON bodies: droverd answers
    /// each with a 4xx and a JSON body (or closes a connection it cannot answer), never a 5xx,
    /// and lives on.
    @Test func apiFuzzNeverCrashesAndRefusesWithJSON() throws {
        let daemon = try TestDaemon()
        defer { daemon.destroy() }
        var cases: [String] = [
            "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "\u{1}\u{2}\u{3}\r\n\r\n", " / HTTP/1.1\r\n\r\n",
            "GET /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            "GET /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "POST /v1/drain HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
            "POST /v1/drain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "POST /v1/drain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n",
            "POST /v1/drain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
            "POST /v1/drain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "GET /v1/jobs HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
            "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",
            "GET /v1/jobs\u{0} HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /%%% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "GET /v1/replicas/a/99999999999999999999999 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "GET /v1/logs/a/-1?tail=-5&follow=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "GET /v1/events?since=nan&subject=%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "GET /v1/names/a?watch=x&timeout=1e300s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ]
        for body in ["", "{", "null", "[]", "\"x\"", "1e999", "{\"name\": null}", "{\"name\": \"a/b/c\", \"grace\": \"-1s\"}",
                     "{\"files\": 3}", "{\"files\": [{\"path\": 1}]}", "{\"grace\": \"forever\"}", "\u{FF}\u{FE}"] {
            for path in ["/v1/evict", "/v1/apply", "/v1/drain"] {
                cases.append("POST \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<40 {
            let bytes = (0..<Int.random(in: 1...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            cases.append(String(decoding: bytes, as: UTF8.self) + "\r\n\r\n")
        }
        var refused = 0
        for request in cases {
            let connection = try RawConnection(daemon.socket)
            connection.send(request)
            let text = connection.read(until: "\r\n\r\n", timeout: 2)
            guard !text.isEmpty else { continue } // closed unanswered, or still waiting for a body it was promised
            let answer = parseAnswer(text.contains("}") ? text : text + connection.read(until: "}", timeout: 1))
            let status = answer?.status ?? 0
            #expect((200..<500).contains(status), "\(request.debugDescription) → \(text.debugDescription)")
            if status >= 400 {
                refused += 1
                #expect(answer?.error != nil, "a JSON error: \(request.debugDescription) → \(String(describing: answer))")
            }
        }

        #expect(refused >= cases.count * 3 / 4, "most are answered, with a refusal: \(refused) of \(cases.count)")

        // Pipelined: two requests in one write, two answers in order.
        let pipelined = try RawConnection(daemon.socket)
        pipelined.send("GET /v1/host HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let both = pipelined.readToClose(timeout: 5) ?? ""
        #expect(both.hasPrefix("HTTP/1.1 200") && both.contains("HTTP/1.1 404"), "\(both.debugDescription)")

        #expect(try daemon.drover(["ps"]).code == 0, "droverd answers")
        #expect(daemon.process?.hasExited == false, "droverd is alive")
    }
}
