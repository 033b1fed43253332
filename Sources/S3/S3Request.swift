import HTTP

/// Which S3 operation a request is, and on what: routing for path-style (`/bucket/key`) and
/// virtual-host-style (`bucket.localhost:8080/key`) addressing. Pure.
public struct S3Request: Sendable {
    public enum Operation: String, Sendable, CaseIterable {
        case listBuckets = "ListBuckets"
        case createBucket = "CreateBucket"
        case headBucket = "HeadBucket"
        case deleteBucket = "DeleteBucket"
        case getBucketLocation = "GetBucketLocation"
        case listObjects = "ListObjects"
        case listObjectsV2 = "ListObjectsV2"
        case putObject = "PutObject"
        case getObject = "GetObject"
        case headObject = "HeadObject"
        case deleteObject = "DeleteObject"
        case createMultipartUpload = "CreateMultipartUpload"
        case uploadPart = "UploadPart"
        case completeMultipartUpload = "CompleteMultipartUpload"
        case abortMultipartUpload = "AbortMultipartUpload"
        case listParts = "ListParts"
        case listMultipartUploads = "ListMultipartUploads"
        case copyObject = "CopyObject"
        case uploadPartCopy = "UploadPartCopy"
        case deleteObjects = "DeleteObjects"
        case getBucketVersioning = "GetBucketVersioning"
        case putBucketVersioning = "PutBucketVersioning"
        case listObjectVersions = "ListObjectVersions"
        case putObjectTagging = "PutObjectTagging"
        case getObjectTagging = "GetObjectTagging"
        case deleteObjectTagging = "DeleteObjectTagging"
        case getBucketCors = "GetBucketCors"
        case putBucketCors = "PutBucketCors"
        case deleteBucketCors = "DeleteBucketCors"
        case getBucketPolicy = "GetBucketPolicy"
        case putBucketPolicy = "PutBucketPolicy"
        case deleteBucketPolicy = "DeleteBucketPolicy"
        case getBucketPolicyStatus = "GetBucketPolicyStatus"
        case getBucketAcl = "GetBucketAcl"
        case putBucketAcl = "PutBucketAcl"
        case getObjectAcl = "GetObjectAcl"
        case putObjectAcl = "PutObjectAcl"
        case getBucketLifecycleConfiguration = "GetBucketLifecycleConfiguration"
        case putBucketLifecycleConfiguration = "PutBucketLifecycleConfiguration"
        case deleteBucketLifecycle = "DeleteBucketLifecycle"
        case getBucketNotificationConfiguration = "GetBucketNotificationConfiguration"
        case putBucketNotificationConfiguration = "PutBucketNotificationConfiguration"
        case getObjectLockConfiguration = "GetObjectLockConfiguration"
        case putObjectLockConfiguration = "PutObjectLockConfiguration"
        case getObjectRetention = "GetObjectRetention"
        case putObjectRetention = "PutObjectRetention"
        case getObjectLegalHold = "GetObjectLegalHold"
        case getObjectAttributes = "GetObjectAttributes"
        case getBucketTagging = "GetBucketTagging"
        case putBucketTagging = "PutBucketTagging"
        case deleteBucketTagging = "DeleteBucketTagging"
        case putObjectLegalHold = "PutObjectLegalHold"
        /// A browser's CORS preflight (`OPTIONS`), never signed.
        case preflight = "PreflightRequest"
        /// An HTML form upload (`POST /bucket`, multipart/form-data), signed in its fields.
        case postObject = "PostObject"
    }

    public var operation: Operation
    public var bucket: String
    public var key: String
    public var query: QueryParameters

    public enum Failure: Error, Equatable, Sendable {
        case malformedPath
        case unsupported(String)
        case methodNotAllowed(String)
    }

    /// A subresource (`?cors`) and the operation each method is on it.
    typealias Subresource = (query: String, methods: [String: Operation])

    /// The bucket subresources, in the order they are looked for.
    static let bucketSubresources: [Subresource] = [
        ("versioning", ["GET": .getBucketVersioning, "PUT": .putBucketVersioning]),
        ("versions", ["GET": .listObjectVersions]),
        ("cors", ["GET": .getBucketCors, "PUT": .putBucketCors, "DELETE": .deleteBucketCors]),
        ("policyStatus", ["GET": .getBucketPolicyStatus]),
        ("policy", ["GET": .getBucketPolicy, "PUT": .putBucketPolicy, "DELETE": .deleteBucketPolicy]),
        ("acl", ["GET": .getBucketAcl, "PUT": .putBucketAcl]),
        ("object-lock", ["GET": .getObjectLockConfiguration, "PUT": .putObjectLockConfiguration]),
        ("tagging", ["GET": .getBucketTagging, "PUT": .putBucketTagging, "DELETE": .deleteBucketTagging]),
        ("notification", ["GET": .getBucketNotificationConfiguration, "PUT": .putBucketNotificationConfiguration]),
        (
            "lifecycle",
            [
                "GET": .getBucketLifecycleConfiguration, "PUT": .putBucketLifecycleConfiguration,
                "DELETE": .deleteBucketLifecycle,
            ]
        ),
        ("location", ["GET": .getBucketLocation]),
        ("uploads", ["GET": .listMultipartUploads]),
        ("delete", ["POST": .deleteObjects]),
    ]
    static let objectSubresources: [Subresource] = [
        ("tagging", ["GET": .getObjectTagging, "PUT": .putObjectTagging, "DELETE": .deleteObjectTagging]),
        ("acl", ["GET": .getObjectAcl, "PUT": .putObjectAcl]),
        ("retention", ["GET": .getObjectRetention, "PUT": .putObjectRetention]),
        ("legal-hold", ["GET": .getObjectLegalHold, "PUT": .putObjectLegalHold]),
        ("attributes", ["GET": .getObjectAttributes]),
    ]

    /// Subresources this server does not implement: answered with NotImplemented, never mistaken for a
    /// listing or an object.
    static let unsupportedBucketQueries = [
        "encryption", "replication", "website", "logging",
        "ownershipControls", "requestPayment", "accelerate", "analytics", "inventory", "metrics",
        "intelligent-tiering", "publicAccessBlock",
    ]
    static let unsupportedObjectQueries = [
        "restore", "select", "torrent",
    ]

    /// `domains`: host names under which the first label is a bucket (virtual-host style).
    public init(head: HTTPRequestHead, query: QueryParameters, domains: [String]) throws(Failure) {
        self.query = query
        guard let path = URLEncoding.decode(head.path, plusAsSpace: false), path.hasPrefix("/") else {
            throw .malformedPath
        }
        var bucket = ""
        var key = ""
        if let host = head.headers["Host"].map(S3Request.hostName),
            let b = S3Request.virtualBucket(host: host, domains: domains)
        {
            bucket = b
            key = String(path.dropFirst())
        } else {
            let rest = path.dropFirst()
            if let slash = rest.firstIndex(of: "/") {
                bucket = String(rest[..<slash])
                key = String(rest[rest.index(after: slash)...])
            } else {
                bucket = String(rest)
            }
        }
        self.bucket = bucket
        self.key = key
        let method = head.method
        if bucket.isEmpty {
            guard method == "GET" else { throw .methodNotAllowed("\(method) on the service root") }
            operation = .listBuckets
            return
        }
        if method == "OPTIONS" {
            operation = .preflight
            return
        }
        let onBucket = key.isEmpty
        for (name, methods) in onBucket ? S3Request.bucketSubresources : S3Request.objectSubresources
        where query.contains(name) {
            guard let operation = methods[method] else {
                throw .methodNotAllowed("\(method) of the \(onBucket ? "bucket" : "object")'s \(name)")
            }
            self.operation = operation
            return
        }
        let unsupported = onBucket ? S3Request.unsupportedBucketQueries : S3Request.unsupportedObjectQueries
        if let q = unsupported.first(where: { query.contains($0) }) {
            throw .unsupported("the \(onBucket ? "bucket" : "object") '\(q)' subresource is not supported")
        }
        if onBucket {
            switch method {
            case "PUT": operation = .createBucket
            case "HEAD": operation = .headBucket
            case "DELETE": operation = .deleteBucket
            case "GET": operation = query["list-type"] == "2" ? .listObjectsV2 : .listObjects
            case "POST": operation = .postObject
            default: throw .methodNotAllowed("\(method) on a bucket")
            }
            return
        }
        let upload = query.contains("uploadId")
        switch method {
        case "PUT":
            let copy = head.headers.contains("x-amz-copy-source")
            operation = upload ? (copy ? .uploadPartCopy : .uploadPart) : (copy ? .copyObject : .putObject)
        case "GET": operation = upload ? .listParts : .getObject
        case "HEAD": operation = .headObject
        case "DELETE": operation = upload ? .abortMultipartUpload : .deleteObject
        case "POST" where query.contains("uploads"): operation = .createMultipartUpload
        case "POST" where upload: operation = .completeMultipartUpload
        default: throw .methodNotAllowed("\(method) on an object")
        }
    }

    static func hostName(_ host: String) -> String {
        if host.hasPrefix("[") { return String(host.prefix { $0 != "]" }.dropFirst()) }
        return String(host.split(separator: ":", maxSplits: 1).first ?? "").lowercased()
    }

    static func virtualBucket(host: String, domains: [String]) -> String? {
        for domain in domains where host.hasSuffix("." + domain) {
            let bucket = String(host.dropLast(domain.count + 1))
            if !bucket.isEmpty { return bucket }
        }
        return nil
    }
}
