import Core
import Loop
import Testing

@testable import HTTP

@Suite("HTTP server and client on a real loop")
struct ServerClientTests {
    @Test("twenty requests in a row reuse one keep-alive connection")
    func keepAlive() throws {
        var statuses: [Int] = []
        var bodies: [String] = []
        var accepted = 0
        try withServer(handler: { req, res in
            res.send(
                status: 200, headers: ["Content-Type": "text/plain"],
                body: Array("you asked for \(req.head.target)".utf8))
        }) { loop, server, client, endpoint, finish in
            func next(_ i: Int) {
                guard i < 20 else {
                    accepted = server.stats.connectionsAccepted
                    finish()
                    return
                }
                client.send(HTTPClientRequest(method: "GET", target: "/item/\(i)"), to: endpoint, timeout: .seconds(5))
                { r in
                    let response = try! r.get()
                    statuses.append(response.status)
                    bodies.append(response.bodyText)
                    next(i + 1)
                }
            }
            next(0)
        }
        #expect(statuses == Array(repeating: 200, count: 20))
        #expect(bodies.last == "you asked for /item/19")
        #expect(accepted == 1)
    }

    @Test("a 3 MiB body is echoed back byte for byte, with Content-Length and with chunked framing")
    func echo() throws {
        let payload = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        var echoed: [[UInt8]] = []
        try withServer(handler: { req, res in
            req.readBody(limit: 8 << 20) { result in
                let body = try! result.get()
                if req.head.target == "/chunked" {
                    res.writeHead(status: 200, contentLength: nil)
                    // Three uneven pieces, each written after the previous one completed.
                    let cuts = [0, 1000, 2_000_000, body.count]
                    func piece(_ i: Int) {
                        guard i < 3 else { return res.end() }
                        res.write(Array(body[cuts[i]..<cuts[i + 1]])) { _ in piece(i + 1) }
                    }
                    piece(0)
                } else {
                    res.send(status: 200, body: body)
                }
            }
        }) { loop, server, client, endpoint, finish in
            client.send(
                HTTPClientRequest(method: "PUT", target: "/plain", body: payload), to: endpoint, timeout: .seconds(10)
            ) { r in
                echoed.append((try? r.get().body) ?? [])
                client.send(
                    HTTPClientRequest(method: "PUT", target: "/chunked", body: payload), to: endpoint,
                    timeout: .seconds(10)
                ) { r in
                    echoed.append((try? r.get().body) ?? [])
                    finish()
                }
            }
        }
        #expect(echoed.count == 2)
        #expect(echoed.allSatisfy { $0 == payload })
    }

    @Test("HEAD gets the headers a GET would, and no body")
    func head() throws {
        var response: HTTPClientResponse?
        try withServer(handler: { req, res in
            res.send(status: 200, headers: ["Content-Type": "text/plain"], body: Array("12345".utf8))
        }) { loop, server, client, endpoint, finish in
            client.send(HTTPClientRequest(method: "HEAD", target: "/x"), to: endpoint, timeout: .seconds(5)) { r in
                response = try? r.get()
                // The connection must still be usable: a HEAD body was not expected or sent.
                client.send(HTTPClientRequest(method: "GET", target: "/x"), to: endpoint, timeout: .seconds(5)) { r in
                    #expect((try? r.get().bodyText) == "12345")
                    finish()
                }
            }
        }
        #expect(response?.status == 200)
        #expect(response?.headers["Content-Length"] == "5")
        #expect(response?.body == [])
    }

    @Test("pipelined requests in one packet get their responses in order")
    func pipelining() throws {
        var text = ""
        try withServer(handler: { req, res in
            // Answer the first one late, so the later ones really wait behind it.
            if req.head.target == "/1" {
                after(res.connection!.server.loop, .milliseconds(50)) { res.send(status: 200, body: Array("one".utf8)) }
            } else {
                req.readBody(limit: 100) { body in
                    res.send(
                        status: 200,
                        body: Array(
                            "\(req.head.target):\(String(decoding: (try? body.get()) ?? [], as: UTF8.self))".utf8))
                }
            }
        }) { loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.onData = {
                    if raw.responseCount == 3 && raw.text.hasSuffix("/3:") {
                        text = raw.text
                        raw.close()
                        finish()
                    }
                }
                raw.send(
                    "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n\r\n"
                )
            }
        }
        let one = text.range(of: "one")
        let two = text.range(of: "/2:abc")
        let three = text.range(of: "/3:")
        #expect(one != nil && two != nil && three != nil)
        if let one, let two, let three {
            #expect(one.lowerBound < two.lowerBound && two.lowerBound < three.lowerBound)
        }
    }

    @Test("a paused body consumer stops the server reading: the client cannot push the body in")
    func backPressure() throws {
        let total = 32 << 20
        var responseOK = false
        let consumer = PausingConsumer()
        try withServer(handler: consumer.handler) { loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.onData = {
                    if raw.text.contains("HTTP/1.1 200") {
                        responseOK = true
                        raw.close()
                        finish()
                    }
                }
                raw.send("PUT /big HTTP/1.1\r\nContent-Length: \(total)\r\n\r\n")
                raw.send([UInt8](repeating: 0x61, count: total))
            }
        }
        #expect(responseOK)
        #expect(consumer.receivedAtEnd == total)
        #expect(consumer.pausedInTime, "\(consumer.receivedWhilePaused) bytes")
    }

    @Test("Expect: 100-continue gets a go-ahead only when the handler reads the body")
    func expectContinue() throws {
        var text = ""
        try withServer(handler: { req, res in
            if req.head.target == "/deny" {
                res.send(status: 403)
                return
            }
            req.readBody(limit: 100) { body in res.send(status: 200, body: (try? body.get()) ?? []) }
        }) { loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                var sentBody = false
                raw.onData = {
                    if raw.text.contains("100 Continue") && !sentBody {
                        sentBody = true
                        raw.send("hello")
                    }
                    if raw.text.contains("HTTP/1.1 200") && raw.text.hasSuffix("hello") {
                        raw.send("PUT /deny HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
                    }
                    if raw.text.contains("403") && raw.closedByPeer {
                        text = raw.text
                        finish()
                    }
                }
                raw.send("PUT /ok HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
            }
        }
        #expect(text.components(separatedBy: "100 Continue").count == 2, "exactly one go-ahead")
        #expect(text.contains("HTTP/1.1 403"))
        #expect(text.contains("Connection: close"))
    }

    @Test("Expect: 100-continue with an empty body still gets its 100 before the answer")
    func expectContinueEmptyBody() throws {
        var text = ""
        try withServer(handler: { req, res in
            // Answered later, without reading the (empty) body: the 100 comes with the answer.
            try! Timer.once(req.connection!.server.loop, .milliseconds(20)) {
                res.send(status: 200, body: Array("ok".utf8))
            }
        }) { loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.onData = {
                    if raw.text.hasSuffix("ok") {
                        text = raw.text
                        finish()
                    }
                }
                raw.send("PUT /empty HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n")
            }
        }
        #expect(text.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), "\(text)")
    }

    @Test("an early answer to a small unread body keeps the connection; to a large one, closes it")
    func earlyAnswer() throws {
        var smallThenNext = ""
        var large = ""
        var largeClosed = false
        try withServer(handler: { req, res in res.send(status: 403, body: Array("no".utf8)) }) {
            loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.onData = {
                    if raw.responseCount == 2 {
                        smallThenNext = raw.text
                        raw.close()
                        _ = RawClient(loop: loop, endpoint: endpoint) { raw2 in
                            raw2.onData = {
                                if raw2.closedByPeer {
                                    large = raw2.text
                                    largeClosed = true
                                    finish()
                                }
                            }
                            raw2.send("PUT /big HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n")
                            raw2.send([UInt8](repeating: 1, count: 100_000))
                        }
                    }
                }
                raw.send(
                    "PUT /small HTTP/1.1\r\nContent-Length: 10000\r\n\r\n" + String(repeating: "x", count: 10000)
                        + "GET /next HTTP/1.1\r\n\r\n")
            }
        }
        #expect(smallThenNext.components(separatedBy: "403 Forbidden").count == 3)
        #expect(large.hasPrefix("HTTP/1.1 403"))
        #expect(largeClosed)
    }

    @Test("a head that never completes gets 408 and a close after the header timeout")
    func headerTimeout() throws {
        var limits = HTTPServerLimits()
        limits.headerTimeout = .milliseconds(300)
        var text = ""
        var timeouts = 0
        try withServer(limits: limits, handler: { _, res in res.send(status: 200) }) {
            loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.onData = {
                    if raw.closedByPeer {
                        text = raw.text
                        timeouts = server.stats.timeouts
                        finish()
                    }
                }
                raw.send("GET / HTTP/1.1\r\nX-Slow: ")
            }
        }
        #expect(text.hasPrefix("HTTP/1.1 408"))
        #expect(timeouts == 1)
    }

    @Test("a body shorter than its Content-Length ends in .truncated for the handler")
    func truncatedBody() throws {
        var bodyError: HTTPBodyError?
        try withServer(handler: { req, res in
            req.readBody(limit: 1000) { result in
                if case .failure(let e) = result { bodyError = e }
                res.send(status: 400)
            }
        }) { loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.send("PUT /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789") { _ in
                    raw.connection?.shutdown()
                }
                raw.onData = { if raw.closedByPeer { finish() } }
            }
        }
        #expect(bodyError == .truncated)
    }

    @Test("past connectionsMax, new connections get 503 and a close; existing ones keep working")
    func connectionLimit() throws {
        var limits = HTTPServerLimits()
        limits.connectionsMax = 2
        var third = ""
        var firstStillWorks = false
        try withServer(limits: limits, handler: { _, res in res.send(status: 204) }) {
            loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { a in
                _ = RawClient(loop: loop, endpoint: endpoint) { b in
                    // Make sure both are accepted before the third arrives.
                    after(loop, .milliseconds(50)) {
                        _ = RawClient(loop: loop, endpoint: endpoint) { c in
                            c.onData = {
                                guard c.closedByPeer else { return }
                                third = c.text
                                a.onData = {
                                    if a.text.contains("204") {
                                        firstStillWorks = true
                                        a.close()
                                        b.close()
                                        finish()
                                    }
                                }
                                a.send("GET / HTTP/1.1\r\n\r\n")
                            }
                        }
                    }
                }
            }
        }
        #expect(third.hasPrefix("HTTP/1.1 503"))
        #expect(firstStillWorks)
    }

    @Test(
        "malformed requests get a 4xx answer and a close, and the server keeps serving",
        arguments: [
            ("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}", "400"),
            ("GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 70_000) + "\r\n\r\n", "431"),
            ("GET / HTTP/2.0\r\n\r\n", "505"),
            ("CONNECT a:443 HTTP/1.1\r\n\r\n", "405"),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nnot-hex\r\n", "400"),
        ])
    func malformed(input: String, status: String) throws {
        var text = ""
        var healthy = false
        try withServer(handler: { req, res in
            req.readBody(limit: 1 << 20) { r in
                if case .failure = r { return }  // the server answers malformed bodies itself
                res.send(status: 200, body: Array("fine".utf8))
            }
        }) { loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.onData = {
                    guard raw.closedByPeer else { return }
                    text = raw.text
                    client.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .seconds(5)) {
                        r in
                        healthy = (try? r.get().bodyText) == "fine"
                        finish()
                    }
                }
                raw.send(input)
            }
        }
        #expect(text.hasPrefix("HTTP/1.1 \(status)"), "\(text.prefix(60))")
        #expect(text.contains("Connection: close"))
        #expect(healthy)
    }

    @Test("an Expect other than 100-continue is ignored, as S3 ignores it")
    func unknownExpectation() throws {
        var text = ""
        try withServer(handler: { req, res in
            req.readBody(limit: 1 << 20) { r in
                res.send(status: 200, body: (try? r.get()) ?? [])
            }
        }) { loop, server, client, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                raw.onData = {
                    guard raw.closedByPeer else { return }
                    text = raw.text
                    finish()
                }
                raw.send("PUT / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
            }
        }
        #expect(text.hasPrefix("HTTP/1.1 200"), "\(text.prefix(60))")
        #expect(text.hasSuffix("\r\n\r\nx"))
    }

    @Test("shutdown lets an in-flight request finish, refuses new connections, and completes")
    func gracefulShutdown() throws {
        var inflight: HTTPClientResponse?
        var shutdownDone = false
        var after: HTTPClientError?
        try withServer(handler: { req, res in
            try! Loop.Timer.once(res.connection!.server.loop, .milliseconds(200)) {
                res.send(status: 200, body: Array("late".utf8))
            }
        }) { loop, server, client, endpoint, finish in
            client.send(HTTPClientRequest(method: "GET", target: "/slow"), to: endpoint, timeout: .seconds(5)) { r in
                inflight = try? r.get()
            }
            try! Loop.Timer.once(loop, .milliseconds(50)) {
                server.shutdown(grace: .seconds(5)) {
                    shutdownDone = true
                    client.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .seconds(2)) {
                        r in
                        if case .failure(let e) = r { after = e }
                        finish()
                    }
                }
            }
        }
        #expect(inflight?.bodyText == "late")
        #expect(inflight?.headers["Connection"] == "close")
        #expect(shutdownDone)
        #expect(after?.isRefused == true)
    }
}

@Suite("HTTP client failures")
struct ClientFailureTests {
    @Test("a port nobody listens on fails fast as refused")
    func refused() throws {
        var error: HTTPClientError?
        let loop = try EventLoop()
        let client = HTTPClient(loop: loop)
        let probe = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: 0))
        let port = probe.localAddress!.port
        probe.close()
        let start = loop.now
        client.send(
            HTTPClientRequest(method: "GET", target: "/"), to: HTTPEndpoint(host: "127.0.0.1", port: port),
            timeout: .seconds(5)
        ) { r in
            if case .failure(let e) = r { error = e }
            client.close()
        }
        loop.run()
        #expect(error?.isRefused == true)
        #expect(loop.now.since(start) < .seconds(2))
        #expect(loop.close() == [])
    }

    @Test("a server that never answers makes the request time out at its deadline")
    func requestTimeout() throws {
        var error: HTTPClientError?
        var held: HTTPServerResponse?
        try withServer(handler: { _, res in held = res }) { loop, server, client, endpoint, finish in
            client.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .milliseconds(200)) { r in
                if case .failure(let e) = r { error = e }
                finish()
            }
        }
        #expect(error == .timedOut(.milliseconds(200)))
        #expect(held != nil)
    }

    @Test("after the server closes an idle connection, the next request still succeeds")
    func staleConnection() throws {
        var limits = HTTPServerLimits()
        limits.idleTimeout = .milliseconds(200)
        var results: [Int] = []
        var accepted = 0
        try withServer(limits: limits, handler: { _, res in res.send(status: 200) }) {
            loop, server, client, endpoint, finish in
            client.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .seconds(2)) { r in
                results.append((try? r.get().status) ?? -1)
                try! Loop.Timer.once(loop, .milliseconds(500)) {
                    client.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .seconds(2)) {
                        r in
                        results.append((try? r.get().status) ?? -1)
                        accepted = server.stats.connectionsAccepted
                        finish()
                    }
                }
            }
        }
        #expect(results == [200, 200])
        #expect(accepted == 2)
    }
}
