import Core
import HTTP
import Storage

/// Something that happened to an object, as bucket notifications report it.
public struct ObjectEvent: Sendable, Equatable {
    /// S3's event name without the `s3:` prefix: `ObjectCreated:Put`, `ObjectRemoved:Delete` ...
    public var name: String
    public var bucket: String
    public var key: String
    public var size: Int64
    public var etag: String
    public var versionID: String?
    public var time: WallTime
    public var requestID: String
    public var sourceIP: String
    /// The ids of the webhooks that are to hear of it; nil: every one.
    public var targets: Set<String>?

    public init(
        name: String, bucket: String, key: String, size: Int64, etag: String, versionID: String?, time: WallTime,
        requestID: String, sourceIP: String
    ) {
        self.name = name
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.versionID = versionID
        self.time = time
        self.requestID = requestID
        self.sourceIP = sourceIP
    }

    /// The S3 event record document MinIO POSTs to a webhook: `{"EventName", "Key", "Records": [...]}`.
    public func document(region: String, principal: String, origin: String) -> JSONValue {
        var object: [(String, JSONValue)] = [
            // Form-encoded, as S3 sends it: `dir/a b.txt` is `dir/a+b.txt`.
            ("key", .string(URLEncoding.encode(key, keepSlash: true).replacing("%20", with: "+"))),
            ("size", .int(size)), ("eTag", .string(etag)),
            ("contentType", .string("")),
            ("sequencer", .string(String(time.millisecondsSinceEpoch, radix: 16, uppercase: true))),
        ]
        if let versionID, versionID != VersionID.null { object.append(("versionId", .string(versionID))) }
        let record: JSONValue = .object([
            ("eventVersion", .string("2.0")), ("eventSource", .string("minio:s3")), ("awsRegion", .string(region)),
            ("eventTime", .string(time.iso8601)), ("eventName", .string("s3:" + name)),
            ("userIdentity", .object([("principalId", .string(principal))])),
            ("requestParameters", .object([("sourceIPAddress", .string(sourceIP)), ("region", .string(region))])),
            (
                "responseElements",
                .object([("x-amz-request-id", .string(requestID)), ("x-minio-origin-endpoint", .string(origin))])
            ),
            (
                "s3",
                .object([
                    ("s3SchemaVersion", .string("1.0")), ("configurationId", .string("Config")),
                    (
                        "bucket",
                        .object([
                            ("name", .string(bucket)),
                            ("ownerIdentity", .object([("principalId", .string(principal))])),
                            ("arn", .string("arn:aws:s3:::" + bucket)),
                        ])
                    ),
                    ("object", .object(object)),
                ])
            ),
        ])
        return .object([
            ("EventName", .string("s3:" + name)), ("Key", .string(bucket + "/" + key)), ("Records", .array([record])),
        ])
    }
}
