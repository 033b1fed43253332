/// Every limit of the HTTP server, named and documented in one place. Checked at start by `validate()`.
public struct HTTPServerLimits: Sendable, Equatable {
    /// Request line plus all header lines. Past it: 431 and close.
    public var headerBytesMax = 16 * 1024
    /// Header fields per request. Past it: 431 and close.
    public var headerCountMax = 100
    /// Largest request body (S3's single-PUT limit is 5 GiB). Past it: 413 and close.
    public var bodyBytesMax: Int64 = 5 * 1024 * 1024 * 1024
    /// Connections open at once. Past it: a 503 and close, so a flood cannot exhaust descriptors.
    public var connectionsMax = 1024
    /// From the first byte of a request to the end of its headers (slowloris). Past it: 408 and close.
    public var headerTimeout: Duration = .seconds(10)
    /// An idle keep-alive connection between requests. Past it: closed silently.
    public var idleTimeout: Duration = .seconds(60)
    /// No body bytes while a body is expected and being read. Past it: 408 (or close) .
    public var bodyIdleTimeout: Duration = .seconds(30)
    /// A response the client takes no byte of for this long (it stopped reading). Past it: close.
    public var writeStallTimeout: Duration = .seconds(60)
    /// Unread request body the server will read and discard to keep a connection alive after an early
    /// response; more than this and the connection closes instead.
    public var drainBytesMax: Int64 = 1024 * 1024
    /// After a response that closes the connection, how long to keep reading (and discarding) so the
    /// client sees the response instead of a reset.
    public var lingerTimeout: Duration = .seconds(2)
    /// How often connection timeouts are checked.
    public var tickInterval: Duration = .milliseconds(100)

    /// Connections past `connectionsMax` that still get their 503 (with a lingering close); past these, a
    /// flood is dropped at once.
    public static let refusalsLingeringMax = 64

    public init() {}

    public func validate() throws(HTTPLimitsError) {
        guard headerBytesMax >= 1024 else { throw .invalid("headerBytesMax must be at least 1024 bytes") }
        guard headerCountMax >= 8 else { throw .invalid("headerCountMax must be at least 8") }
        guard connectionsMax >= 1 else { throw .invalid("connectionsMax must be at least 1") }
        guard bodyBytesMax >= 0, drainBytesMax >= 0 else { throw .invalid("byte limits must not be negative") }
        for (name, value) in [
            ("headerTimeout", headerTimeout), ("idleTimeout", idleTimeout), ("bodyIdleTimeout", bodyIdleTimeout),
            ("writeStallTimeout", writeStallTimeout),
        ] where value <= tickInterval {
            throw .invalid("\(name) (\(value)) must be longer than tickInterval (\(tickInterval))")
        }
    }
}

/// Every limit of the HTTP client.
public struct HTTPClientLimits: Sendable, Equatable {
    /// Dial timeout for a new connection.
    public var connectTimeout: Duration = .seconds(2)
    /// Idle pooled connections kept per endpoint.
    public var idleConnectionsPerEndpointMax = 16
    /// Connections open (busy or idle) per endpoint; further requests wait in line.
    public var connectionsPerEndpointMax = 64
    /// Requests waiting for a connection per endpoint; past it, `tooManyPending`.
    public var pendingPerEndpointMax = 4096
    /// A pooled connection unused this long is closed (below the server's idle timeout, so the client
    /// closes first and a reused connection is rarely stale).
    public var idleTimeout: Duration = .seconds(30)
    /// Status line plus headers of a response.
    public var responseHeaderBytesMax = 64 * 1024
    /// Header fields of a response.
    public var responseHeaderCountMax = 1000
    /// Largest body the buffering API collects.
    public var responseBodyBytesMax = 64 * 1024 * 1024
    /// How often deadlines are checked.
    public var tickInterval: Duration = .milliseconds(20)

    public init() {}

    public func validate() throws(HTTPLimitsError) {
        guard connectionsPerEndpointMax >= 1, idleConnectionsPerEndpointMax >= 0, pendingPerEndpointMax >= 1 else {
            throw .invalid("the client needs at least one connection and one pending request per endpoint")
        }
        guard responseHeaderBytesMax >= 1024, responseHeaderCountMax >= 8, responseBodyBytesMax >= 0 else {
            throw .invalid("the client's response limits are too small to read any response")
        }
        guard connectTimeout > tickInterval, idleTimeout > tickInterval else {
            throw .invalid("the client's timeouts must be longer than its tick (\(tickInterval))")
        }
    }
}

public struct HTTPLimitsError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public static func invalid(_ text: String) -> HTTPLimitsError { HTTPLimitsError(description: text) }
}
