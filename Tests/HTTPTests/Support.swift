import Core
import Loop
import TLS
import Testing

@testable import HTTP

/// A server on 127.0.0.1 port 0 and a client, on a fresh loop. `body` starts the exchanges and calls
/// `finish` when done; the loop then closes everything and checks nothing leaked. A watchdog bounds it.
func withServer(
    limits: HTTPServerLimits = HTTPServerLimits(), clientLimits: HTTPClientLimits = HTTPClientLimits(),
    seconds: Int = 20, tls: (server: TLSContext, client: TLSContext?)? = nil,
    handler: @escaping HTTPServer.Handler,
    _ body: (
        _ loop: EventLoop, _ server: HTTPServer, _ client: HTTPClient, _ endpoint: HTTPEndpoint,
        _ finish: @escaping () -> Void
    ) throws -> Void
) throws {
    let loop = try EventLoop()
    let server = try HTTPServer(loop: loop, limits: limits, tls: tls?.server, handler: handler)
    let address = try server.listen(on: SocketAddress(ip: "127.0.0.1", port: 0))
    let client = HTTPClient(loop: loop, limits: clientLimits, tls: tls?.client)
    let endpoint = HTTPEndpoint(host: "127.0.0.1", port: address.port, isSecure: tls != nil)
    let watchdog = try Timer(loop: loop, label: "watchdog")
    var finished = false
    let finish = {
        guard !finished else { return }
        finished = true
        watchdog.close()
        client.close()
        server.close()
    }
    watchdog.start(after: .seconds(Int64(seconds))) {
        Issue.record("the test did not finish within \(seconds)s")
        finish()
    }
    try body(loop, server, client, endpoint, finish)
    loop.run()
    let leaked = loop.close()
    #expect(leaked == [], "handles left open: \(leaked)")
}

/// A raw TCP client for sending exactly the bytes a test wants (hostile, pipelined, partial).
final class RawClient {
    let loop: EventLoop
    var connection: TCPConnection?
    var received: [UInt8] = []
    var closedByPeer = false
    var onData: (() -> Void)?

    init(loop: EventLoop, endpoint: HTTPEndpoint, connected: @escaping (RawClient) -> Void) {
        self.loop = loop
        _ = TCPConnection.connect(loop: loop, to: try! SocketAddress(ip: endpoint.host, port: endpoint.port)) {
            [self] result in
            guard case .success(let tcp) = result else {
                Issue.record("raw connect failed")
                return
            }
            self.connection = tcp
            tcp.startReading { [self] event in
                switch event {
                case .data(let bytes):
                    self.received.append(contentsOf: bytes)
                case .endOfFile, .error:
                    self.closedByPeer = true
                    tcp.close()
                }
                self.onData?()
            }
            connected(self)
        }
    }

    func send(_ text: String, completion: ((UVError?) -> Void)? = nil) {
        send(Array(text.utf8), completion: completion)
    }

    func send(_ bytes: [UInt8], completion: ((UVError?) -> Void)? = nil) {
        connection?.write(bytes) { completion?($0) }
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    /// Number of complete "HTTP/1.1 " status lines received.
    var responseCount: Int { text.components(separatedBy: "HTTP/1.1 ").count - 1 }

    func close() { connection?.close() }
}

extension String {
    func components(separatedBy separator: String) -> [Substring] {
        split(separator: separator, omittingEmptySubsequences: false)
    }

    func range(of needle: String) -> Range<String.Index>? { firstRange(of: needle) }
}

func after(_ loop: EventLoop, _ delay: Duration, _ body: @escaping () -> Void) {
    try! Loop.Timer.once(loop, delay, body)
}

/// A handler that streams a body and pauses it for 300 ms once 64 KiB are in, counting what arrives.
final class PausingConsumer {
    private(set) var receivedWhilePaused = 0
    private(set) var receivedAtEnd = 0

    var handler: HTTPServer.Handler {
        { [self] req, res in
            var count = 0
            req.streamBody(
                chunk: { bytes in
                    count += bytes.count
                    if self.receivedWhilePaused == 0 && count >= 65536 {
                        req.pauseBody()
                        // While paused for 300 ms, nothing more may be delivered.
                        after(res.connection!.server.loop, .milliseconds(300)) {
                            self.receivedWhilePaused = count
                            req.resumeBody()
                        }
                    }
                },
                end: { error in
                    self.receivedAtEnd = count
                    res.send(status: error == nil ? 200 : 400)
                })
        }
    }

    /// Paused after the first 64 KiB; at most one more read buffer may have been in the parser.
    var pausedInTime: Bool {
        receivedWhilePaused >= 65536 && receivedWhilePaused <= 65536 + 2 * EventLoop.readBufferBytes
    }
}
