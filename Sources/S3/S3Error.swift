import Cluster
import HTTP

/// An S3 error: code, HTTP status, message and the resource it is about. One function renders it.
public struct S3Error: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: String
    public var status: Int
    public var message: String
    public var bucket: String?
    public var key: String?

    public init(_ code: String, _ status: Int, _ message: String, bucket: String? = nil, key: String? = nil) {
        self.code = code
        self.status = status
        self.message = message
        self.bucket = bucket
        self.key = key
    }

    public var description: String { "\(code) (\(status)): \(message)" }

    /// The same error, naming the bucket it is about.
    func about(bucket: String) -> S3Error {
        var e = self
        e.bucket = bucket
        return e
    }

    /// The S3 error XML document.
    public func xml(resource: String, requestID: String) -> String {
        var w = XMLWriter()
        w.open("Error")
        w.element("Code", code)
        w.element("Message", message)
        if let key { w.element("Key", key) }
        if let bucket { w.element("BucketName", bucket) }
        w.element("Resource", resource)
        w.element("RequestId", requestID)
        w.element("HostId", requestID)
        w.close("Error")
        return w.document
    }

    // MARK: The errors we answer with

    static func accessDenied(_ m: String) -> S3Error { S3Error("AccessDenied", 403, m) }
    static func signatureMismatch(_ m: String) -> S3Error { S3Error("SignatureDoesNotMatch", 403, m) }
    static func invalidAccessKey() -> S3Error {
        S3Error("InvalidAccessKeyId", 403, "The access key ID you provided does not exist in our records.")
    }
    static func authorizationMalformed(_ m: String) -> S3Error { S3Error("AuthorizationHeaderMalformed", 400, m) }
    static func requestTimeTooSkewed(_ m: String) -> S3Error { S3Error("RequestTimeTooSkewed", 403, m) }
    static func notImplemented(_ m: String) -> S3Error { S3Error("NotImplemented", 501, m) }
    static func methodNotAllowed(_ m: String) -> S3Error { S3Error("MethodNotAllowed", 405, m) }
    static func invalidArgument(_ m: String) -> S3Error { S3Error("InvalidArgument", 400, m) }
    static func invalidRequest(_ m: String) -> S3Error { S3Error("InvalidRequest", 400, m) }
    static func invalidRange(_ size: Int64) -> S3Error {
        S3Error("InvalidRange", 416, "The requested range is not satisfiable (the object has \(size) bytes).")
    }
    static func missingContentLength() -> S3Error {
        S3Error("MissingContentLength", 411, "You must provide the Content-Length HTTP header.")
    }
    static func badDigest(_ m: String) -> S3Error { S3Error("BadDigest", 400, m) }
    static func invalidDigest(_ m: String) -> S3Error { S3Error("InvalidDigest", 400, m) }
    static func sha256Mismatch() -> S3Error {
        S3Error(
            "XAmzContentSHA256Mismatch", 400,
            "The provided 'x-amz-content-sha256' header does not match what was computed.")
    }
    static func incompleteBody(_ m: String) -> S3Error { S3Error("IncompleteBody", 400, m) }
    static func malformedXML(_ m: String) -> S3Error { S3Error("MalformedXML", 400, m) }
    static func invalidTag(_ m: String) -> S3Error { S3Error("InvalidTag", 400, m) }
    static func preconditionFailed(_ condition: String) -> S3Error {
        S3Error(
            "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold (\(condition)).")
    }
    static func metadataTooLarge() -> S3Error {
        S3Error("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size (2 KiB).")
    }
    /// An error the HTTP layer answers by itself (malformed request, timeout, limits), as S3 words it.
    public static func forHTTPStatus(_ status: Int, _ message: String) -> S3Error {
        // S3 answers a body over its limit with 400, not HTTP's 413.
        if status == 413 { return S3Error("EntityTooLarge", 400, message) }
        let code =
            switch status {
            case 400: "BadRequest"
            case 405: "MethodNotAllowed"
            case 408: "RequestTimeout"
            case 411: "MissingContentLength"
            case 417: "ExpectationFailed"
            case 431: "RequestHeaderSectionTooLarge"
            case 503: "SlowDown"
            case 505: "HttpVersionNotSupported"
            default: status >= 500 ? "InternalError" : "BadRequest"
            }
        return S3Error(code, status, message)
    }

    static func internalError(_ requestID: String) -> S3Error {
        S3Error("InternalError", 500, "We encountered an internal error (request \(requestID)); please try again.")
    }

    /// The object layer's verdict as S3 says it.
    public static func from(_ e: ObjectError) -> S3Error {
        switch e {
        case .invalidBucketName(let b, let reason):
            S3Error("InvalidBucketName", 400, "The specified bucket is not valid: \(reason).", bucket: b)
        case .invalidObjectName(let reason):
            S3Error("XMinioInvalidObjectName", 400, "Object name contains unsupported characters: \(reason).")
        case .keyTooLong: S3Error("KeyTooLongError", 400, "Your key is too long (at most 1024 bytes).")
        case .noSuchBucket(let b): S3Error("NoSuchBucket", 404, "The specified bucket does not exist", bucket: b)
        case .noSuchKey(let b, let k): S3Error("NoSuchKey", 404, "The specified key does not exist.", bucket: b, key: k)
        case .noSuchVersion(let b, let k, _):
            S3Error("NoSuchVersion", 404, "The specified version does not exist.", bucket: b, key: k)
        case .bucketAlreadyOwnedByYou(let b):
            S3Error(
                "BucketAlreadyOwnedByYou", 409,
                "Your previous request to create the named bucket succeeded and you already own it.", bucket: b)
        case .bucketNotEmpty(let b):
            S3Error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty", bucket: b)
        case .noSuchUpload:
            S3Error(
                "NoSuchUpload", 404,
                "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
            )
        case .invalidPart(let n):
            S3Error(
                "InvalidPart", 400,
                "One or more of the specified parts could not be found (part \(n)): it may not have been uploaded, or its ETag does not match."
            )
        case .invalidPartOrder:
            S3Error("InvalidPartOrder", 400, "The list of parts was not in ascending order by part number.")
        case .entityTooSmall:
            S3Error(
                "EntityTooSmall", 400,
                "Your proposed upload is smaller than the minimum allowed size: \(e.description).")
        case .writeQuorum: S3Error("ServiceUnavailable", 503, "Write quorum not available: \(e.description)")
        case .readQuorum: S3Error("ServiceUnavailable", 503, "Read quorum not available: \(e.description)")
        case .incompleteBody(let m):
            .incompleteBody("You did not provide the number of bytes specified by the Content-Length HTTP header: \(m)")
        case .requestTimeout:
            S3Error(
                "RequestTimeout", 400,
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."
            )
        case .badDigest(let m): .badDigest(m)
        case .signatureDoesNotMatch(let m): .signatureMismatch(m)
        case .entityTooLarge(let limit):
            S3Error(
                "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size (\(limit) bytes).")
        case .diskFull:
            S3Error("XMinioStorageFull", 507, "Storage backend has reached its minimum free drive threshold.")
        case .slowDown: S3Error("SlowDown", 503, "Please reduce your request rate.")
        case .preconditionFailed(let what): .preconditionFailed(what)
        case .lockTimeout: S3Error("SlowDown", 503, "Please reduce your request rate: \(e.description).")
        case .methodNotAllowed(let m):
            .methodNotAllowed("The specified method is not allowed against this resource: \(m).")
        case .invalidBucketState(let m): S3Error("InvalidBucketState", 409, m)
        case .invalidRequest(let m): .invalidRequest(m)
        case .objectLocked(let m): .accessDenied("Access Denied because object protected by object lock: \(m).")
        case .internalError: S3Error("InternalError", 500, "We encountered an internal error: \(e.description)")
        }
    }
}

/// Writes XML documents with escaped text.
public struct XMLWriter {
    private var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

    public init() {}

    public var document: String { out }

    public mutating func open(_ name: String, namespace: Bool = false) {
        out += namespace ? "<\(name) xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" : "<\(name)>"
    }

    /// Markup written as it is (an element with attributes).
    mutating func raw(_ markup: String) {
        out += markup
    }

    public mutating func close(_ name: String) {
        out += "</\(name)>"
    }

    public mutating func text(_ text: String) {
        out += XMLWriter.escape(text)
    }

    public mutating func element(_ name: String, _ text: String) {
        out += "<\(name)>"
        out += XMLWriter.escape(text)
        out += "</\(name)>"
    }

    /// The `CommonPrefixes` elements of a listing.
    mutating func commonPrefixes(_ prefixes: [String], encode: (String) -> String) {
        for p in prefixes {
            open("CommonPrefixes")
            element("Prefix", encode(p))
            close("CommonPrefixes")
        }
    }

    public static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 38 || $0 == 60 || $0 == 62 || $0 == 34 || $0 == 39 || $0 < 32 }) else {
            return s
        }
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 cannot carry these at all, not even as references: the replacement character stands in.
            case _ where c.value < 32 && c != "\t" && c != "\n" && c != "\r": out += "\u{FFFD}"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
