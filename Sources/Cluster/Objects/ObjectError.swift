import Core
import Storage

/// What an object operation can fail with, from the client's point of view. The S3 layer renders each
/// as an S3 error.
public enum ObjectError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidBucketName(String, reason: String)
    case invalidObjectName(reason: String)
    case keyTooLong
    case noSuchBucket(String)
    case noSuchKey(bucket: String, key: String)
    case noSuchVersion(bucket: String, key: String, versionID: String)
    case bucketAlreadyOwnedByYou(String)
    case bucketNotEmpty(String)
    case noSuchUpload(String)
    /// A part named in a completion is not there (or has another ETag).
    case invalidPart(number: Int)
    case invalidPartOrder
    /// A part other than the last is smaller than S3's minimum.
    case entityTooSmall(number: Int, size: Int64)
    /// Too few nodes reached to write safely; nothing was made visible.
    case writeQuorum(reached: Int, needed: Int, detail: String)
    /// Too few nodes answered (or too few good shards) to read.
    case readQuorum(answered: Int, needed: Int, detail: String)
    /// The body was shorter than announced, or the client went away.
    case incompleteBody(String)
    /// The client stopped sending the body (after `Expect: 100-continue` too) for the body idle timeout.
    case requestTimeout
    /// A digest the client sent does not match the content.
    case badDigest(String)
    case signatureDoesNotMatch(String)
    case entityTooLarge(limit: Int64)
    case diskFull
    /// Every worker is busy and the queue is full: try again.
    case slowDown
    /// A conditional write's condition did not hold (412).
    case preconditionFailed(String)
    /// Another write of the object held its lock for longer than a writer waits.
    case lockTimeout(resource: String, waited: Duration)
    /// The operation does not apply to what was named (a delete marker's tags, say): 405.
    case methodNotAllowed(String)
    /// The request cannot be done as asked (S3's InvalidRequest, 400).
    case invalidRequest(String)
    /// Object lock keeps the version (S3 answers 403 AccessDenied).
    case objectLocked(String)
    /// The bucket is not in a state that allows the request (S3's InvalidBucketState, 409).
    case invalidBucketState(String)
    case internalError(String)

    public var description: String {
        switch self {
        case .invalidBucketName(let b, let reason): "invalid bucket name '\(b)': \(reason)"
        case .invalidObjectName(let reason): "invalid object name: \(reason)"
        case .keyTooLong: "the object key is longer than 1024 bytes"
        case .noSuchBucket(let b): "the bucket '\(b)' does not exist"
        case .noSuchKey(let b, let k): "no object '\(k)' in bucket '\(b)'"
        case .noSuchVersion(let b, let k, let v): "no version '\(v)' of '\(k)' in bucket '\(b)'"
        case .bucketAlreadyOwnedByYou(let b): "the bucket '\(b)' already exists and is yours"
        case .bucketNotEmpty(let b): "the bucket '\(b)' is not empty"
        case .noSuchUpload(let id): "no multipart upload '\(id)'"
        case .invalidPart(let n): "part \(n) was not uploaded, or its ETag does not match"
        case .invalidPartOrder: "the parts are not in ascending order of their numbers"
        case .entityTooSmall(let n, let size):
            "part \(n) has \(size) bytes; every part but the last needs at least \(MultipartLimits.partBytesMin)"
        case .writeQuorum(let reached, let needed, let detail):
            "only \(reached) of the \(needed) nodes a write needs could take it (\(detail)); nothing was stored"
        case .readQuorum(let answered, let needed, let detail):
            "only \(answered) of the \(needed) nodes a read needs answered (\(detail))"
        case .incompleteBody(let why): "the request body was incomplete: \(why)"
        case .requestTimeout: "the client stopped sending the request body"
        case .badDigest(let why): why
        case .invalidBucketState(let why): why
        case .invalidRequest(let why): why
        case .objectLocked(let why): "object lock protects it: \(why)"
        case .signatureDoesNotMatch(let why): why
        case .entityTooLarge(let limit): "the object is larger than \(limit) bytes"
        case .diskFull: "no space left on the nodes' disks"
        case .slowDown: "the node is busy; slow down and retry"
        case .preconditionFailed(let what): "the condition \(what) did not hold"
        case .lockTimeout(let r, let waited):
            "\(r) was being written by another request for over \(DurationText.format(waited)); retry"
        case .methodNotAllowed(let why): why
        case .internalError(let why): why
        }
    }

    static func from(_ e: StorageError) -> ObjectError {
        switch e {
        case .invalidBucketName(let b, let reason): .invalidBucketName(b, reason: reason)
        case .invalidObjectName(let reason): .invalidObjectName(reason: reason)
        case .keyTooLong: .keyTooLong
        case .bucketNotFound(let b): .noSuchBucket(b)
        case .bucketExists(let b): .bucketAlreadyOwnedByYou(b)
        case .bucketNotEmpty(let b): .bucketNotEmpty(b)
        case .objectNotFound(let b, let k): .noSuchKey(bucket: b, key: k)
        case .versionNotFound(let b, let k, let v): .noSuchVersion(bucket: b, key: k, versionID: v)
        case .diskFull: .diskFull
        case .uploadNotFound(let id): .noSuchUpload(id)
        case .stagedNotFound, .corrupt, .io, .notNewest: .internalError(e.description)
        }
    }
}
