import Core
import HTTP
import Storage

/// The internal storage RPC between nodes (all under the signed `/_dc/v1/` prefix). Object names go in
/// JSON bodies or percent-encoded query parameters; errors come back as an encoded `StorageError`.
public enum StoragePaths {
    public static let prefix = "/_dc/v1/storage/"
    public static let makeBucket = "/_dc/v1/storage/bucket/make"
    public static let deleteBucket = "/_dc/v1/storage/bucket/delete"
    public static let bucketInfo = "/_dc/v1/storage/bucket/info"
    public static let listBuckets = "/_dc/v1/storage/buckets"
    public static let metadata = "/_dc/v1/storage/meta"
    public static let commit = "/_dc/v1/storage/commit"
    public static let settle = "/_dc/v1/storage/settle"
    public static let deleteVersion = "/_dc/v1/storage/delete"
    public static let list = "/_dc/v1/storage/list"
    public static let listVersions = "/_dc/v1/storage/versions"
    public static let versioning = "/_dc/v1/storage/bucket/versioning"
    public static let stage = "/_dc/v1/storage/stage"
    public static let abort = "/_dc/v1/storage/abort"
    public static let shard = "/_dc/v1/storage/shard"
    public static let createUpload = "/_dc/v1/storage/upload/create"
    public static let recordMissed = "/_dc/v1/storage/missed"
    public static let lock = "/_dc/v1/storage/lock"
    public static let missedDone = "/_dc/v1/storage/missed/done"
    public static let uploadState = "/_dc/v1/storage/upload"
    public static let commitPart = "/_dc/v1/storage/upload/part"
    public static let abortUpload = "/_dc/v1/storage/upload/abort"
    public static let listUploads = "/_dc/v1/storage/uploads"
    public static let checkShard = "/_dc/v1/storage/check"
}

struct BucketRequest: Codable {
    var name: String
    var created: Int64?
    var force: Bool?
}

struct CommitRequest: Codable {
    var bucket: String
    var key: String
    var version: ObjectVersion
    var stagedUploadID: String?
    var multipartUploadID: String?
}

/// What a write lock call does with a node's grant.
public enum LockOp: String, Codable, Sendable {
    case acquire, refresh, release
}

struct LockRequest: Codable {
    var op: LockOp
    var resource: String
    var owner: String
    var ttlMs: Int64
}

struct LockAnswer: Codable {
    var granted: Bool
}

struct MissedDoneRequest: Codable {
    var ids: [String]
    var peer: String
}

struct CommitPartRequest: Codable {
    var uploadID: String
    var part: PartInfo
    var stagedUploadID: String
}

struct SettleRequest: Codable {
    var bucket: String
    var key: String
    var write: ObjectVersion
    var undo: Bool
}

struct DeleteVersionRequest: Codable {
    var bucket: String
    var key: String
    var versionID: String
}

struct CheckShardRequest: Codable {
    var bucket: String
    var key: String
    var version: ObjectVersion
}

struct ErrorEnvelope: Codable {
    var error: StorageError
}

extension StorageError {
    /// The HTTP status a node answers with for this error.
    var httpStatus: Int {
        switch self {
        case .bucketNotFound, .objectNotFound, .versionNotFound, .stagedNotFound, .uploadNotFound: 404
        case .bucketExists, .bucketNotEmpty: 409
        case .invalidBucketName, .invalidObjectName, .keyTooLong: 400
        case .diskFull: 507
        case .corrupt, .io: 500
        }
    }
}
