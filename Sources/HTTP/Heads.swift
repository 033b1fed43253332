/// HTTP/1.x version of a message.
public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// The request line and headers of a request as received.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// The request-target exactly as sent (`/bucket/key?versionId=1`), still percent-encoded.
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// From Content-Length; nil when absent (chunked, or no body).
    public var contentLength: Int64?
    public var isChunked: Bool
    /// Whether the client allows the connection to stay open after this exchange.
    public var keepAlive: Bool

    public init(
        method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:],
        contentLength: Int64? = nil, isChunked: Bool = false, keepAlive: Bool = true
    ) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.contentLength = contentLength
        self.isChunked = isChunked
        self.keepAlive = keepAlive
    }

    /// The path part of the target (before `?`), still percent-encoded.
    public var path: Substring {
        guard let i = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target[...] }
        return target[..<i]
    }

    /// The raw query (after `?`), or nil.
    public var query: Substring? {
        guard let i = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        return target[target.utf8.index(after: i)...]
    }

    public var hasBody: Bool { isChunked || (contentLength ?? 0) > 0 }

    /// `Expect: 100-continue`: the client waits for a go-ahead before sending the body.
    public var expectsContinue: Bool { version == .http1_1 && headers.hasToken("100-continue", in: "Expect") }
}

/// The status line and headers of a response.
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var contentLength: Int64?
    public var keepAlive: Bool

    public init(
        status: Int, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:], contentLength: Int64? = nil,
        keepAlive: Bool = true
    ) {
        self.status = status
        self.version = version
        self.headers = headers
        self.contentLength = contentLength
        self.keepAlive = keepAlive
    }
}

public enum HTTPStatus {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 303: "See Other"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 416: "Range Not Satisfiable"
        case 417: "Expectation Failed"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        case 507: "Insufficient Storage"
        default: "Status \(status)"
        }
    }

    /// Responses that never carry a body, whatever their headers say.
    public static func forbidsBody(_ status: Int) -> Bool {
        (100..<200).contains(status) || status == 204 || status == 304
    }
}
