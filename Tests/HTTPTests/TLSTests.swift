import Core
import Loop
import TLS
import Testing

@testable import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// A private CA, a server certificate it signed for `names`, and a second CA nobody trusts, in a
/// temporary folder removed afterwards.
private func withCertificates(
    names: [String] = ["localhost", "127.0.0.1"],
    _ body: (_ server: TLSContext, _ trusting: TLSContext, _ untrusting: TLSContext) throws -> Void
) throws {
    let root = try #require(TemporaryFolder.make(prefix: "dc-tls-test", environment: [:]))
    defer {
        for file in [
            "ca/ca.crt", "ca/ca.key", "other/ca.crt", "other/ca.key", "node/public.crt", "node/private.key",
            "node/CAs/ca.crt",
        ] {
            unlink(root + "/" + file)
        }
        for folder in ["node/CAs", "node", "ca", "other", ""] { rmdir(root + "/" + folder) }
    }
    let authority = try CertificateAuthority(folder: root + "/ca")
    let other = try CertificateAuthority(folder: root + "/other", name: "someone else")
    let node = CertificateFolder(root + "/node")
    try authority.issue(for: names, into: node)
    #expect(node.hasCertificate)
    try body(
        try node.serverContext(), try TLSContext.client(trusting: [authority.certificate], systemRoots: false),
        try TLSContext.client(trusting: [other.certificate], systemRoots: false))
}

@Suite("HTTP over TLS on a real loop")
struct TLSTests {
    @Test("keep-alive requests and a 3 MiB echo, both framings, go byte-exact over one TLS connection")
    func echo() throws {
        let payload = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
        var echoed: [[UInt8]] = []
        var accepted = 0
        try withCertificates { serverContext, trusting, _ in
            try withServer(
                tls: (serverContext, trusting),
                handler: { req, res in
                    req.readBody(limit: 8 << 20) { result in
                        let body = try! result.get()
                        if req.head.target == "/chunked" {
                            res.writeHead(status: 200, contentLength: nil)
                            let cut = min(1000, body.count)
                            res.write(Array(body[..<cut])) { _ in
                                res.write(Array(body[cut...])) { _ in res.end() }
                            }
                        } else {
                            res.send(status: 200, body: body)
                        }
                    }
                }
            ) { loop, server, client, endpoint, finish in
                func next(_ i: Int) {
                    guard i < 6 else {
                        accepted = server.stats.connectionsAccepted
                        return finish()
                    }
                    let request = HTTPClientRequest(
                        method: "PUT", target: i % 2 == 0 ? "/plain" : "/chunked", body: i < 2 ? payload : [7, 8, 9])
                    client.send(request, to: endpoint, timeout: .seconds(10)) { r in
                        echoed.append((try? r.get().body) ?? [])
                        next(i + 1)
                    }
                }
                next(0)
            }
        }
        #expect(echoed.count == 6)
        #expect(echoed[0] == payload && echoed[1] == payload)
        #expect(echoed[2...].allSatisfy { $0 == [7, 8, 9] })
        #expect(accepted == 1)
    }

    @Test("a paused body consumer stops a TLS connection's reads as it stops a plain one's")
    func backPressure() throws {
        let total = 16 << 20
        var status = 0
        let consumer = PausingConsumer()
        try withCertificates { serverContext, trusting, _ in
            try withServer(tls: (serverContext, trusting), handler: consumer.handler) {
                loop, server, client, endpoint, finish in
                let request = HTTPClientRequest(
                    method: "PUT", target: "/big", body: [UInt8](repeating: 0x61, count: total))
                client.send(request, to: endpoint, timeout: .seconds(15)) { r in
                    status = (try? r.get().status) ?? -1
                    finish()
                }
            }
        }
        #expect(status == 200)
        #expect(consumer.receivedAtEnd == total)
        #expect(consumer.pausedInTime, "\(consumer.receivedWhilePaused) bytes")
    }

    @Test(
        "a server whose authority the client does not trust, or whose certificate names another host, fails the dial with why"
    )
    func verification() throws {
        var untrusted: HTTPClientError?
        var misnamed: HTTPClientError?
        var unconfigured: HTTPClientError?
        var servedAfter = 0
        try withCertificates(names: ["localhost"]) { serverContext, trusting, untrusting in
            try withServer(tls: (serverContext, trusting), handler: { _, res in res.send(status: 204) }) {
                loop, server, client, endpoint, finish in
                let stranger = HTTPClient(loop: loop, tls: untrusting)
                let bare = HTTPClient(loop: loop)
                let get = HTTPClientRequest(method: "GET", target: "/")
                stranger.send(
                    get, to: HTTPEndpoint(host: "localhost", port: endpoint.port, isSecure: true), timeout: .seconds(5)
                ) {
                    untrusted = $0.failure
                    // The certificate names localhost, not 127.0.0.1.
                    client.send(get, to: endpoint, timeout: .seconds(5)) {
                        misnamed = $0.failure
                        bare.send(get, to: endpoint, timeout: .seconds(5)) {
                            unconfigured = $0.failure
                            let named = HTTPEndpoint(host: "localhost", port: endpoint.port, isSecure: true)
                            client.send(get, to: named, timeout: .seconds(5)) {
                                servedAfter = (try? $0.get().status) ?? -1
                                stranger.close()
                                bare.close()
                                finish()
                            }
                        }
                    }
                }
            }
        }
        #expect(
            untrusted?.description.contains("certificate verify failed") == true, "\(String(describing: untrusted))")
        #expect(misnamed?.description.contains("certificate verify failed") == true, "\(String(describing: misnamed))")
        #expect(unconfigured?.description.contains("no TLS configuration") == true)
        #expect(servedAfter == 204)
    }

    @Test("a TLS client over the connection limit gets the server's 503, written before the handshake ended")
    func refusalOverTLS() throws {
        var limits = HTTPServerLimits()
        limits.connectionsMax = 1
        var first = 0
        var second: Result<HTTPClientResponse, HTTPClientError>?
        try withCertificates { serverContext, trusting, _ in
            try withServer(limits: limits, tls: (serverContext, trusting), handler: { _, res in res.send(status: 200) })
            {
                loop, server, client, endpoint, finish in
                let other = HTTPClient(loop: loop, tls: trusting)
                client.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .seconds(5)) {
                    first = (try? $0.get().status) ?? -1
                    // The first connection stays open (keep-alive): the second is one too many.
                    other.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .seconds(5)) {
                        second = $0
                        other.close()
                        finish()
                    }
                }
            }
        }
        #expect(first == 200)
        #expect((try? second?.get().status) == 503, "\(String(describing: second))")
    }

    @Test("plain HTTP sent to a TLS server is dropped; the server goes on serving TLS")
    func plainToTLS() throws {
        var closed = false
        var status = 0
        try withCertificates { serverContext, trusting, _ in
            try withServer(tls: (serverContext, trusting), handler: { _, res in res.send(status: 200) }) {
                loop, server, client, endpoint, finish in
                _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                    raw.onData = {
                        guard raw.closedByPeer, !closed else { return }
                        closed = true
                        client.send(HTTPClientRequest(method: "GET", target: "/"), to: endpoint, timeout: .seconds(5)) {
                            status = (try? $0.get().status) ?? -1
                            finish()
                        }
                    }
                    raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                }
            }
        }
        #expect(closed)
        #expect(status == 200)
    }

    @Test("an HTTPS URL parses with its scheme and default port, and prints back")
    func endpointURL() {
        let endpoint = HTTPEndpoint(url: "https://node1.example:9000/x")
        #expect(endpoint == HTTPEndpoint(host: "node1.example", port: 9000, isSecure: true))
        #expect(endpoint?.url == "https://node1.example:9000")
        #expect(HTTPEndpoint(url: "https://h")?.port == 443)
        #expect(HTTPEndpoint(url: "http://h")?.isSecure == false)
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
