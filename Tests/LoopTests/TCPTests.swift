import Core
import Testing

@testable import Loop

@Suite("tcp")
struct TCPTests {
    @Test("an echo over 127.0.0.1 on port 0 returns every byte, then both sides close cleanly")
    func echo() throws {
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var received: [UInt8] = []
        try withLoop { loop in
            let listener = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: 0))
            let port = try #require(listener.localAddress?.port)
            #expect(port > 0)
            listener.start { server in
                server.startReading { event in
                    switch event {
                    case .data(let bytes): server.write(Array(bytes))
                    case .endOfFile, .error: server.shutdown { _ in server.close() }
                    }
                }
                listener.close()
            }
            _ = TCPConnection.connect(loop: loop, to: try SocketAddress(ip: "127.0.0.1", port: port)) { result in
                guard case .success(let client) = result else {
                    Issue.record("connect failed: \(result)")
                    return
                }
                client.write(payload) { error in
                    #expect(error == nil)
                    client.shutdown()
                }
                client.startReading { event in
                    switch event {
                    case .data(let bytes): received.append(contentsOf: bytes)
                    case .endOfFile, .error: client.close()
                    }
                }
            }
        }
        #expect(received == payload)
    }

    @Test("connecting to a closed port fails with ECONNREFUSED")
    func refused() throws {
        var failure: UVError?
        try withLoop { loop in
            // Bind then close a listener to find a port nobody listens on.
            let probe = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: 0))
            let port = probe.localAddress!.port
            probe.close {
                _ = TCPConnection.connect(loop: loop, to: try! SocketAddress(ip: "127.0.0.1", port: port)) { result in
                    if case .failure(let error) = result { failure = error }
                }
            }
        }
        #expect(failure?.isConnectionRefused == true)
    }

    @Test("a busy port is reported as EADDRINUSE when the listener is created")
    func busyPort() throws {
        try withLoop { loop in
            let first = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: 0))
            let port = first.localAddress!.port
            #expect(throws: UVError.self) {
                _ = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: port))
            }
            do {
                _ = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: port))
            } catch {
                #expect((error as? UVError)?.isAddressInUse == true)
            }
            first.close()
        }
    }

    @Test("closing a connection mid-connect cancels it and the completion still runs once")
    func cancelConnect() throws {
        var completions = 0
        try withLoop { loop in
            let listener = try TCPListener(loop: loop, address: SocketAddress(ip: "127.0.0.1", port: 0))
            let address = listener.localAddress!
            let connection = TCPConnection.connect(loop: loop, to: address) { _ in completions += 1 }
            connection?.close()
            listener.close()
        }
        #expect(completions == 1)
    }

    @Test("addresses parse and print in both families")
    func addresses() throws {
        #expect(try SocketAddress(ip: "127.0.0.1", port: 8080).description == "127.0.0.1:8080")
        #expect(try SocketAddress(ip: "::1", port: 9000).description == "[::1]:9000")
        #expect(throws: UVError.self) { try SocketAddress(ip: "not-an-ip", port: 1) }
        #expect(throws: UVError.self) { try SocketAddress(ip: "127.0.0.1", port: 70000) }
    }

    @Test("names resolve through getaddrinfo, numbers at once")
    func resolve() throws {
        var got: [String] = []
        try withLoop { loop in
            Resolver.resolve(loop: loop, host: "localhost", port: 80) { r in got.append((try? r.get().host) ?? "fail") }
            Resolver.resolve(loop: loop, host: "127.0.0.9", port: 80) { r in got.append((try? r.get().host) ?? "fail") }
        }
        #expect(got.sorted() == ["127.0.0.1", "127.0.0.9"])
    }
}
