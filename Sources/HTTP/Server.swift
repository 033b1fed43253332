import Core
import Loop
import TLS

/// An HTTP/1.1 server on the loop: keep-alive, pipelining (one request at a time), Content-Length and
/// chunked bodies both ways, back-pressure, limits and timeouts from `HTTPServerLimits`. Loop-bound.
public final class HTTPServer {
    public typealias Handler = (HTTPServerRequest, HTTPServerResponse) -> Void

    public struct Stats: Sendable, Equatable {
        public var connectionsAccepted = 0
        public var connectionsRefused = 0
        public var requests = 0
        public var protocolErrors = 0
        public var timeouts = 0
    }

    public let limits: HTTPServerLimits
    let loop: EventLoop
    let handler: Handler
    /// Renders an error the server itself answers (malformed request, timeout, limits): its status (the
    /// one given, unless the protocol on top words it differently) and body. The S3 layer replaces it
    /// with S3 error XML.
    public var renderError: (Int, String) -> (status: Int, contentType: String, body: [UInt8]) = { status, message in
        (status, "text/plain; charset=utf-8", Array("\(status) \(HTTPStatus.reason(status)): \(message)\n".utf8))
    }

    private var listener: TCPListener?
    private var connections: [ObjectIdentifier: ServerConnection] = [:]
    private var tickTimer: Timer?
    public private(set) var stats = Stats()
    public private(set) var requestsInFlight = 0
    public private(set) var isShuttingDown = false
    private var shutdownCompletion: (() -> Void)?
    private var shutdownTimer: Timer?
    private var cachedDate: (second: Int64, text: String) = (0, "")

    /// Set: every connection is TLS with this server context.
    public let tls: TLSContext?

    public init(
        loop: EventLoop, limits: HTTPServerLimits = .init(), tls: TLSContext? = nil, handler: @escaping Handler
    ) throws(HTTPLimitsError) {
        try limits.validate()
        self.loop = loop
        self.limits = limits
        self.tls = tls
        self.handler = handler
    }

    public var connectionCount: Int { connections.count }

    /// Starts listening; returns the bound address (with the real port when `address` has port 0).
    @discardableResult
    public func listen(on address: SocketAddress) throws(UVError) -> SocketAddress {
        precondition(listener == nil, "HTTPServer.listen called twice")
        let listener = try TCPListener(loop: loop, address: address, label: "http listener \(address)")
        self.listener = listener
        listener.start { [unowned self] tcp in self.accepted(tcp) }
        let timer = try Timer(loop: loop, label: "http server tick")
        timer.unref()
        timer.start(after: limits.tickInterval, repeating: limits.tickInterval) { [unowned self] in self.tick() }
        tickTimer = timer
        return listener.localAddress ?? address
    }

    private func accepted(_ tcp: TCPConnection) {
        let over = connections.count >= limits.connectionsMax || isShuttingDown
        guard !over || connections.count < limits.connectionsMax + HTTPServerLimits.refusalsLingeringMax else {
            // A flood past even the refusals we answer: drop it without a word.
            stats.connectionsRefused += 1
            tcp.close()
            return
        }
        let stream: any ByteStream
        if let tls {
            do {
                stream = try TLSStream.accept(tcp, loop: loop, context: tls)
            } catch {
                stats.connectionsRefused += 1
                tcp.close()
                return
            }
        } else {
            stream = tcp
        }
        let connection = ServerConnection(server: self, stream: stream, now: loop.iterationTime)
        connections[ObjectIdentifier(connection)] = connection
        if over {
            // Answered like any error: a 503 and a lingering close, so the client reads it.
            stats.connectionsRefused += 1
            connection.start()
            connection.answerAndClose(
                .init(status: 503, reason: "too many connections (\(limits.connectionsMax)); try again shortly"))
            return
        }
        stats.connectionsAccepted += 1
        connection.start()
    }

    private func tick() {
        let now = loop.iterationTime
        for connection in Array(connections.values) { connection.tick(now: now) }
    }

    func requestStarted() {
        requestsInFlight += 1
        stats.requests += 1
    }

    func requestFinished() {
        requestsInFlight -= 1
        if isShuttingDown {
            for connection in Array(connections.values) { connection.closeIfIdle() }
        }
    }

    func noteProtocolError() { stats.protocolErrors += 1 }
    func noteTimeout() { stats.timeouts += 1 }

    func connectionClosed(_ connection: ServerConnection) {
        connections[ObjectIdentifier(connection)] = nil
        if isShuttingDown && connections.isEmpty { finishShutdown() }
    }

    func dateHeader() -> String {
        let now = WallTime.now()
        let second = now.millisecondsSinceEpoch / 1000
        if second != cachedDate.second { cachedDate = (second, now.httpDate) }
        return cachedDate.text
    }

    /// Stops accepting, closes idle connections, lets in-flight requests finish (their responses say
    /// `Connection: close`), and force-closes whatever is left after `grace`. `completion` runs once.
    public func shutdown(grace: Duration, completion: @escaping () -> Void) {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        shutdownCompletion = completion
        listener?.close()
        listener = nil
        for connection in Array(connections.values) { connection.closeIfIdle() }
        if connections.isEmpty {
            finishShutdown()
            return
        }
        if let timer = try? Timer(loop: loop, label: "http shutdown grace") {
            shutdownTimer = timer
            timer.start(after: grace) { [unowned self] in
                for connection in Array(self.connections.values) { connection.closeNow() }
            }
        }
    }

    private func finishShutdown() {
        shutdownTimer?.close()
        shutdownTimer = nil
        tickTimer?.close()
        tickTimer = nil
        let completion = shutdownCompletion
        shutdownCompletion = nil
        completion?()
    }

    /// Closes everything now.
    public func close() {
        isShuttingDown = true
        listener?.close()
        listener = nil
        for connection in Array(connections.values) { connection.closeNow() }
        finishShutdown()
    }
}
