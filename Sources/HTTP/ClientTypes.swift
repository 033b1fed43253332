import Core
import Loop

/// Where a client request goes: `host:port`, over plain HTTP or over TLS.
public struct HTTPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// HTTPS: the connection is TLS, and the server's certificate must name `host`.
    public var isSecure: Bool

    public init(host: String, port: Int, isSecure: Bool = false) {
        self.host = host
        self.port = port
        self.isSecure = isSecure
    }

    /// Parses `http://host:port` or `https://host:port` (a path, if any, is ignored; IPv6 hosts in
    /// brackets).
    public init?(url: String) {
        let isSecure = url.hasPrefix("https://")
        guard isSecure || url.hasPrefix("http://") else { return nil }
        var rest = url.dropFirst(isSecure ? "https://".count : "http://".count)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let host: Substring
        let portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            portText = after.hasPrefix(":") ? after.dropFirst() : (after.isEmpty ? nil : "x")
        } else {
            let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            portText = parts.count > 1 ? parts[1] : nil
        }
        guard !host.isEmpty else { return nil }
        let port = portText.map { Int($0) } ?? (isSecure ? 443 : 80)
        guard let port, (1...65535).contains(port) else { return nil }
        self.init(host: String(host), port: port, isSecure: isSecure)
    }

    /// `host:port` as it goes in a Host header.
    public var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var url: String { (isSecure ? "https://" : "http://") + hostHeader }
    public var description: String { isSecure ? url : hostHeader }
}

public struct HTTPClientRequest: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Written later through the task (`writeBody`, `endBody`); a nil length is sent chunked.
        case stream(length: Int64?)
    }

    public var method: String
    public var target: String
    public var headers: HTTPHeaders
    public var body: Body
    /// Safe to send twice: retried once when a reused keep-alive connection turns out to be closed
    /// before any response byte arrived. Streamed bodies are never retried.
    public var isIdempotent: Bool

    public init(
        method: String, target: String, headers: HTTPHeaders = [:], body: [UInt8] = [], isIdempotent: Bool? = nil
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = .bytes(body)
        self.isIdempotent = isIdempotent ?? ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method)
    }

    public init(method: String, target: String, headers: HTTPHeaders = [:], streamedBodyLength: Int64?) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = .stream(length: streamedBodyLength)
        self.isIdempotent = false
    }
}

public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

public enum HTTPClientError: Error, Equatable, CustomStringConvertible, Sendable {
    case resolveFailed(host: String, reason: String)
    /// The dial failed at once (refused, unreachable): the peer is not listening.
    case connectFailed(UVError)
    case connectTimedOut(Duration)
    /// The TLS handshake failed (an untrusted or misnamed certificate, a peer not speaking TLS), or the
    /// endpoint is HTTPS and the client has no TLS configuration.
    case tlsFailed(String)
    /// The request's deadline passed before its response was complete.
    case timedOut(Duration)
    /// The server closed or reset the connection before the response was complete.
    case connectionClosed
    case malformedResponse(String)
    case responseTooLarge(limit: Int)
    /// Too many requests already wait for a connection to this endpoint.
    case tooManyPending
    case cancelled
    /// The caller broke its own request (a streamed body not matching its length).
    case malformedRequest(String)

    public var description: String {
        switch self {
        case .resolveFailed(let host, let reason): "cannot resolve \(host): \(reason)"
        case .connectFailed(let error): "cannot connect: \(error.message)"
        case .connectTimedOut(let d): "no connection within \(DurationText.format(d))"
        case .tlsFailed(let reason): reason
        case .timedOut(let d): "no progress for \(DurationText.format(d))"
        case .connectionClosed: "the server closed the connection before the response was complete"
        case .malformedResponse(let reason): "malformed response: \(reason)"
        case .responseTooLarge(let limit): "the response body is larger than \(limit) bytes"
        case .tooManyPending: "too many requests waiting for this endpoint"
        case .cancelled: "the request was cancelled"
        case .malformedRequest(let reason): "request not sent: \(reason)"
        }
    }

    /// Whether the peer is evidently not running (as opposed to slow).
    public var isRefused: Bool {
        if case .connectFailed(let e) = self { return e.isConnectionRefused }
        return false
    }
}

/// The receiving side of one request. Callbacks run on the loop thread.
public struct HTTPResponseHandlers {
    public var head: (HTTPResponseHead) -> Void
    /// Body bytes, borrowed for the call.
    public var body: (UnsafeRawBufferPointer) -> Void
    /// Exactly once: nil after the whole response, or why it failed.
    public var end: (HTTPClientError?) -> Void

    public init(
        head: @escaping (HTTPResponseHead) -> Void, body: @escaping (UnsafeRawBufferPointer) -> Void,
        end: @escaping (HTTPClientError?) -> Void
    ) {
        self.head = head
        self.body = body
        self.end = end
    }
}

/// One request in flight; `cancel()` ends it with `.cancelled`. Loop-bound.
///
/// A streamed body is written with `writeBody` (each completion means the bytes reached the kernel:
/// wait for it before producing more) and finished with `endBody`. A streamed response can be held with
/// `pauseResponse` (the connection stops reading) until `resumeResponse`.
public final class HTTPClientTask {
    let request: HTTPClientRequest
    let endpoint: HTTPEndpoint
    /// How long the request may go without progress (bytes sent or received) before it fails.
    let timeout: Duration
    var lastProgress: Instant
    var handlers: HTTPResponseHandlers?
    var connection: ClientConnection?
    var receivedResponseBytes = false
    var retried = false
    weak var client: HTTPClient?

    // Streamed request body, queued until a connection carries it.
    var bodyQueue: [(buffer: ByteBuffer, completion: ((HTTPClientError?) -> Void)?)] = []
    var bodyEnded = false
    var bodyBytesQueued: Int64 = 0
    public private(set) var isResponsePaused = false

    init(
        request: HTTPClientRequest, endpoint: HTTPEndpoint, timeout: Duration, now: Instant,
        handlers: HTTPResponseHandlers, client: HTTPClient
    ) {
        self.request = request
        self.endpoint = endpoint
        self.timeout = timeout
        self.lastProgress = now
        self.handlers = handlers
        self.client = client
    }

    public var isFinished: Bool { handlers == nil }

    /// No progress for `timeout` (a response the consumer holds paused does not count against it).
    func isOverdue(now: Instant) -> Bool {
        !isResponsePaused && now.since(lastProgress) >= timeout
    }

    public func cancel() {
        client?.fail(self, .cancelled)
    }

    /// Queues body bytes of a streamed request.
    public func writeBody(_ buffer: ByteBuffer, completion: ((HTTPClientError?) -> Void)? = nil) {
        guard case .stream(let length) = request.body, !bodyEnded, !isFinished else {
            completion?(.cancelled)
            return
        }
        if let length, bodyBytesQueued + Int64(buffer.count) > length {
            client?.fail(self, .malformedRequest("body longer than its Content-Length \(length)"))
            completion?(.cancelled)
            return
        }
        bodyBytesQueued += Int64(buffer.count)
        bodyQueue.append((buffer, completion))
        connection?.flushBody()
    }

    /// Ends a streamed request body.
    public func endBody() {
        guard case .stream(let length) = request.body, !bodyEnded, !isFinished else { return }
        if let length, bodyBytesQueued != length {
            client?.fail(
                self, .malformedRequest("body of \(bodyBytesQueued) bytes ended short of its Content-Length \(length)"))
            return
        }
        bodyEnded = true
        connection?.flushBody()
    }

    public func pauseResponse() {
        isResponsePaused = true
    }

    public func resumeResponse() {
        guard isResponsePaused else { return }
        isResponsePaused = false
        if let client { lastProgress = client.loop.iterationTime }
        connection?.resumeResponse()
    }

    func finish(_ error: HTTPClientError?) {
        guard let handlers else { return }
        self.handlers = nil
        connection = nil
        let queued = bodyQueue
        bodyQueue = []
        for item in queued { item.completion?(.cancelled) }
        handlers.end(error)
    }
}
