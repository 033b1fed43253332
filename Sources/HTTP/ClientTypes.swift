import Core
import Loop

/// Where a client request goes: `host:port` over plain HTTP.
public struct HTTPEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `http://host:port` (a path, if any, is ignored; IPv6 hosts in brackets).
    public init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        var rest = url.dropFirst("http://".count)
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
        let port = portText.map { Int($0) } ?? 80
        guard let port, (1...65535).contains(port) else { return nil }
        self.init(host: String(host), port: port)
    }

    /// `host:port` as it goes in a Host header.
    public var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var url: String { "http://\(hostHeader)" }
    public var description: String { hostHeader }
}

public struct HTTPClientRequest: Sendable {
    public var method: String
    public var target: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Safe to send twice: retried once when a reused keep-alive connection turns out to be closed
    /// before any response byte arrived.
    public var isIdempotent: Bool

    public init(
        method: String, target: String, headers: HTTPHeaders = [:], body: [UInt8] = [], isIdempotent: Bool? = nil
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.isIdempotent = isIdempotent ?? ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(method)
    }
}

public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

public enum HTTPClientError: Error, Equatable, CustomStringConvertible, Sendable {
    case resolveFailed(host: String, reason: String)
    /// The dial failed at once (refused, unreachable): the peer is not listening.
    case connectFailed(UVError)
    case connectTimedOut(Duration)
    /// The request's deadline passed before its response was complete.
    case timedOut(Duration)
    /// The server closed or reset the connection before the response was complete.
    case connectionClosed
    case malformedResponse(String)
    case responseTooLarge(limit: Int)
    /// Too many requests already wait for a connection to this endpoint.
    case tooManyPending
    case cancelled

    public var description: String {
        switch self {
        case .resolveFailed(let host, let reason): "cannot resolve \(host): \(reason)"
        case .connectFailed(let error): "cannot connect: \(error.message)"
        case .connectTimedOut(let d): "no connection within \(DurationText.format(d))"
        case .timedOut(let d): "no complete response within \(DurationText.format(d))"
        case .connectionClosed: "the server closed the connection before the response was complete"
        case .malformedResponse(let reason): "malformed response: \(reason)"
        case .responseTooLarge(let limit): "the response body is larger than \(limit) bytes"
        case .tooManyPending: "too many requests waiting for this endpoint"
        case .cancelled: "the request was cancelled"
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
public final class HTTPClientTask {
    let request: HTTPClientRequest
    let endpoint: HTTPEndpoint
    let timeout: Duration
    let deadline: Instant
    var handlers: HTTPResponseHandlers?
    var connection: ClientConnection?
    var receivedResponseBytes = false
    var retried = false
    weak var client: HTTPClient?

    init(
        request: HTTPClientRequest, endpoint: HTTPEndpoint, timeout: Duration, deadline: Instant,
        handlers: HTTPResponseHandlers, client: HTTPClient
    ) {
        self.request = request
        self.endpoint = endpoint
        self.timeout = timeout
        self.deadline = deadline
        self.handlers = handlers
        self.client = client
    }

    public var isFinished: Bool { handlers == nil }

    public func cancel() {
        client?.fail(self, .cancelled)
    }

    func finish(_ error: HTTPClientError?) {
        guard let handlers else { return }
        self.handlers = nil
        connection = nil
        handlers.end(error)
    }
}
