import Core
import Loop
import Testing

@testable import HTTP

@Suite("HTTP client streaming")
struct ClientStreamingTests {
    /// Writes `total` bytes in `piece`-sized buffers, each after the previous one completed.
    func upload(_ task: HTTPClientTask, total: Int, piece: Int, end: Bool = true) {
        var sent = 0
        func next() {
            guard sent < total else {
                if end { task.endBody() }
                return
            }
            let n = min(piece, total - sent)
            let buffer = ByteBuffer([UInt8](repeating: UInt8(truncatingIfNeeded: sent / piece), count: n))
            sent += n
            task.writeBody(buffer) { error in if error == nil { next() } }
        }
        next()
    }

    @Test("a streamed body arrives whole, with a known length and chunked", arguments: [Int64?.some(3 << 20), nil])
    func streamedUpload(length: Int64?) throws {
        var received = -1
        var chunked: Bool?
        try withServer(handler: { req, res in
            chunked = req.head.isChunked
            req.readBody(limit: 8 << 20) { r in
                let body = (try? r.get()) ?? []
                res.send(status: 200, body: Array("\(body.count)".utf8))
            }
        }) { loop, server, client, endpoint, finish in
            let task = client.send(
                HTTPClientRequest(method: "PUT", target: "/up", streamedBodyLength: length), to: endpoint,
                timeout: .seconds(5)
            ) { r in
                received = Int((try? r.get().bodyText) ?? "") ?? -2
                finish()
            }
            upload(task!, total: 3 << 20, piece: 100_000)
        }
        #expect(received == 3 << 20)
        #expect(chunked == (length == nil))
    }

    @Test("a paused response stops the connection reading until resumed, and nothing is lost")
    func pausedResponse() throws {
        let total = 16 << 20
        var atPause = 0
        var whilePaused = 0
        var received = 0
        var ok = false
        try withServer(handler: { _, res in
            res.send(status: 200, body: ByteBuffer([UInt8](repeating: 7, count: total)))
        }) { loop, server, client, endpoint, finish in
            var task: HTTPClientTask?
            task = client.execute(
                HTTPClientRequest(method: "GET", target: "/big"), to: endpoint, timeout: .seconds(5),
                handlers: HTTPResponseHandlers(
                    head: { _ in },
                    body: { bytes in
                        received += bytes.count
                        if atPause == 0 && received >= 1 << 20 {
                            atPause = received
                            task?.pauseResponse()
                            try! Loop.Timer.once(loop, .milliseconds(300)) {
                                whilePaused = received
                                task?.resumeResponse()
                            }
                        }
                    },
                    end: { error in
                        ok = error == nil
                        finish()
                    }))
        }
        #expect(ok)
        #expect(received == total)
        #expect(whilePaused == atPause, "bytes were delivered while paused")
    }

    @Test("an upload that stops making progress times out; one that keeps going does not")
    func progressTimeout() throws {
        var stalled: HTTPClientError?
        var steady: Result<HTTPClientResponse, HTTPClientError>?
        try withServer(handler: { req, res in
            req.readBody(limit: 8 << 20) { _ in res.send(status: 204) }
        }) { loop, server, client, endpoint, finish in
            let stuck = client.send(
                HTTPClientRequest(method: "PUT", target: "/stuck", streamedBodyLength: 10), to: endpoint,
                timeout: .milliseconds(300)
            ) { r in
                if case .failure(let e) = r { stalled = e }
            }
            stuck?.writeBody(ByteBuffer([1, 2, 3]))  // and then nothing more
            // 1.2 s in all, never more than 100 ms between writes, with a 300 ms timeout.
            let slow = client.send(
                HTTPClientRequest(method: "PUT", target: "/slow", streamedBodyLength: 12), to: endpoint,
                timeout: .milliseconds(300)
            ) { r in
                steady = r
                finish()
            }
            var n = 0
            func drip() {
                guard n < 12 else { return slow!.endBody() }
                n += 1
                slow?.writeBody(ByteBuffer([UInt8(n)])) { _ in try! Loop.Timer.once(loop, .milliseconds(100), drip) }
            }
            drip()
        }
        #expect(stalled == .timedOut(.milliseconds(300)))
        #expect((try? steady?.get().status) == 204)
    }

    @Test("a body longer than its declared length is refused before it is sent")
    func overlong() throws {
        var error: HTTPClientError?
        try withServer(handler: { req, res in req.readBody(limit: 100) { _ in res.send(status: 200) } }) {
            loop, server, client, endpoint, finish in
            let task = client.send(
                HTTPClientRequest(method: "PUT", target: "/x", streamedBodyLength: 2), to: endpoint,
                timeout: .seconds(2)
            ) { r in
                if case .failure(let e) = r { error = e }
                finish()
            }
            task?.writeBody(ByteBuffer([1, 2, 3]))
        }
        if case .malformedRequest = error {
        } else {
            Issue.record("expected malformedRequest, got \(String(describing: error))")
        }
    }
}

@Suite("HTTP client end of input while paused")
struct ClientPausedCloseTests {
    @Test("a server that closes while the response is paused: the response completes on resume, no crash")
    func closeWhilePaused() throws {
        var received = 0
        var outcome: HTTPClientError??
        // A listener that answers one request with a close-delimited body, then closes.
        let loop = try EventLoop()
        let listener = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: 0))
        let port = listener.localAddress!.port
        listener.start { tcp in
            tcp.startReading { event in
                if case .data = event {
                    tcp.write(
                        Array("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".utf8)
                            + [UInt8](repeating: 1, count: 200_000)
                    ) { _ in
                        tcp.close()
                    }
                }
            }
            listener.close()
        }
        let client = HTTPClient(loop: loop)
        var task: HTTPClientTask?
        task = client.execute(
            HTTPClientRequest(method: "GET", target: "/"), to: HTTPEndpoint(host: "127.0.0.1", port: port),
            timeout: .seconds(5),
            handlers: HTTPResponseHandlers(
                head: { _ in },
                body: { bytes in
                    received += bytes.count
                    if received > 0 && !(task?.isResponsePaused ?? true) && received < 200_000 {
                        task?.pauseResponse()
                        // Resume well after the server has closed.
                        try! Loop.Timer.once(loop, .milliseconds(200)) { task?.resumeResponse() }
                    }
                },
                end: { error in
                    outcome = .some(error)
                    client.close()
                }))
        loop.run()
        #expect(loop.close() == [])
        #expect(outcome == .some(nil))
        #expect(received == 200_000)
    }
}
