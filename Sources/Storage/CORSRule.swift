/// One rule of a bucket's CORS configuration (S3's CORSRule): which origins may use which methods,
/// with which request headers, and what the browser may see of the answer.
public struct CORSRule: Codable, Equatable, Sendable {
    public var id: String?
    /// Origins, each may hold one `*` (`https://*.example.com`, `*`).
    public var allowedOrigins: [String]
    /// GET, PUT, POST, DELETE, HEAD.
    public var allowedMethods: [String]
    /// Request headers a preflight may ask for, each may hold one `*`; lower case.
    public var allowedHeaders: [String]
    public var exposeHeaders: [String]
    public var maxAgeSeconds: Int?

    public init(
        id: String? = nil, allowedOrigins: [String], allowedMethods: [String], allowedHeaders: [String] = [],
        exposeHeaders: [String] = [], maxAgeSeconds: Int? = nil
    ) {
        self.id = id
        self.allowedOrigins = allowedOrigins
        self.allowedMethods = allowedMethods
        self.allowedHeaders = allowedHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAgeSeconds = maxAgeSeconds
    }
}
