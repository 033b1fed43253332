/// What can go wrong in one node's data folder. The S3 layer maps these to S3 errors.
public enum StorageError: Error, Equatable, Codable, CustomStringConvertible, Sendable {
    case invalidBucketName(String, reason: String)
    case invalidObjectName(reason: String)
    case keyTooLong(bytes: Int)
    case bucketNotFound(String)
    case bucketExists(String)
    case bucketNotEmpty(String)
    case objectNotFound(bucket: String, key: String)
    case versionNotFound(bucket: String, key: String, versionID: String)
    case stagedNotFound(String)
    case uploadNotFound(String)
    case diskFull(path: String)
    case corrupt(path: String, reason: String)
    case io(path: String, errno: Int32, operation: String)
    /// A new write stamped no later than the newest version the node holds (modification time, ms):
    /// the writer stamps it again, later.
    case notNewest(bucket: String, key: String, newest: Int64)

    public var description: String {
        switch self {
        case .invalidBucketName(let name, let reason): "invalid bucket name '\(name)': \(reason)"
        case .invalidObjectName(let reason): "invalid object name: \(reason)"
        case .keyTooLong(let bytes): "the object key is \(bytes) bytes; at most 1024 are allowed"
        case .bucketNotFound(let b): "bucket '\(b)' does not exist"
        case .bucketExists(let b): "bucket '\(b)' already exists"
        case .bucketNotEmpty(let b): "bucket '\(b)' is not empty"
        case .objectNotFound(let b, let k): "no object '\(k)' in bucket '\(b)'"
        case .versionNotFound(let b, let k, let v): "no version '\(v)' of '\(k)' in bucket '\(b)'"
        case .stagedNotFound(let id): "no staged upload \(id)"
        case .uploadNotFound(let id): "no multipart upload \(id)"
        case .diskFull(let path): "the disk holding \(path) is full"
        case .corrupt(let path, let reason): "\(path) is corrupt: \(reason)"
        case .io(let path, let errno, let operation): "\(operation) \(path): \(SystemErrorText.text(errno))"
        case .notNewest(let b, let k, let newest):
            "'\(k)' in bucket '\(b)' already has a version as new (\(newest) ms): a new write must be later"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

enum SystemErrorText {
    static func text(_ errno: Int32) -> String { String(cString: strerror(errno)) }
}
