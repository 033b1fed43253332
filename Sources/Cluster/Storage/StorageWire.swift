import Core
import FoundationEssentials
import HTTP
import Storage

/// The internal storage RPC between nodes, all under the signed `/_dc/v1/storage/` prefix. Each call is
/// one `StorageCall`: a path with its request and answer types. `RemoteStore` (the client) and
/// `StorageService` (the dispatcher) both derive from this table, so a call is added in one place.
/// Every call is a POST whose body is its request; the answer's body is the answer, or (any status
/// but 2xx) an `ErrorEnvelope`. The calls on the path of every PUT and GET are binary (`BinaryWire`);
/// the rest are JSON (`JSONWire`). The two streaming calls (shard data) are `StoragePaths`.
struct StorageCall<Request: WireMessage, Answer: WireMessage>: Sendable {
    let path: String
    /// Deadline of the whole call.
    let timeout: Duration
    /// A read: safe to send again on a fresh connection when a pooled one turns out closed.
    let isIdempotent: Bool

    init(_ name: String, timeout: Duration = RemoteStore.callTimeout, idempotent: Bool = false) {
        path = StoragePaths.prefix + name
        self.timeout = timeout
        isIdempotent = idempotent
    }
}

enum StorageCalls {
    static let makeBucket = StorageCall<BucketInfo, Empty>("bucket/make")
    static let deleteBucket = StorageCall<BucketRequest, Empty>("bucket/delete")
    static let bucketInfo = StorageCall<BucketRequest, BucketInfo>("bucket/info", idempotent: true)
    static let listBuckets = StorageCall<Empty, [BucketInfo]>("buckets", idempotent: true)
    static let setVersioning = StorageCall<BucketInfo, Empty>("bucket/versioning")
    static let changeSettings = StorageCall<BucketInfo, Empty>("bucket/settings")
    static let readMetadata = StorageCall<ObjectRef, ObjectMetadata>("meta", idempotent: true)
    static let commit = StorageCall<CommitRequest, CommitReceipt>("commit")
    static let lockedCommit = StorageCall<LockedCommitRequest, LockedCommitAnswer>("commit/locked")
    static let settle = StorageCall<SettleRequest, Empty>("settle")
    static let setAttributes = StorageCall<AttributesRequest, Empty>("attributes")
    static let deleteVersion = StorageCall<DeleteVersionRequest, Empty>("delete")
    static let list = StorageCall<ListRequest, ListPage>("list", idempotent: true)
    static let listVersions = StorageCall<ListRequest, ListPage>("versions", idempotent: true)
    /// A lock call is small and on the path of every write: a node slower than this is passed over.
    static let lock = StorageCall<LockRequest, LockAnswer>("lock", timeout: .seconds(1))
    /// A shard check reads the whole shard (up to 5 TiB / k in theory): generous, yet bounded.
    static let checkShard = StorageCall<CheckShardRequest, ShardCheck>("check", timeout: .seconds(60))
    static let recordMissed = StorageCall<[MissedEntry], Empty>("missed")
    static let markMissedDone = StorageCall<MissedDoneRequest, Empty>("missed/done")
    static let createUpload = StorageCall<MultipartUpload, Empty>("upload/create")
    static let uploadState = StorageCall<UploadRef, UploadState>("upload", idempotent: true)
    static let commitPart = StorageCall<CommitPartRequest, Empty>("upload/part")
    static let abortUpload = StorageCall<UploadRef, Empty>("upload/abort")
    static let listUploads = StorageCall<BucketRequest, [MultipartUpload]>("uploads", idempotent: true)
    static let abortStaging = StorageCall<UploadRef, Empty>("abort")
    /// Several of the calls above in one request (see `RemoteStore`'s batching).
    static let batch = StorageCall<BatchRequest, BatchAnswer>("batch")

    /// Every call, its types erased (for the fuzzer; a test checks the dispatcher serves exactly these).
    static var all: [AnyStorageCall] {
        [
            .init(makeBucket), .init(deleteBucket), .init(bucketInfo), .init(listBuckets), .init(setVersioning),
            .init(changeSettings), .init(readMetadata), .init(commit), .init(lockedCommit), .init(settle),
            .init(setAttributes), .init(deleteVersion), .init(list), .init(listVersions), .init(lock),
            .init(checkShard),
            .init(recordMissed), .init(markMissedDone), .init(createUpload), .init(uploadState), .init(commitPart),
            .init(abortUpload), .init(listUploads), .init(abortStaging), .init(batch),
        ]
    }
}

/// A storage call with its types erased: its path, and its request's and answer's decoding.
struct AnyStorageCall {
    let path: String
    /// Whether the call's messages are binary (`BinaryWire`: their encoding is canonical).
    let isBinary: Bool
    /// A request body decoded and encoded again; nil when it is malformed.
    let requestAgain: ([UInt8]) -> [UInt8]?
    /// An answer body decoded and encoded again; nil when it is malformed.
    let answerAgain: ([UInt8]) -> [UInt8]?

    init<Request, Answer>(_ call: StorageCall<Request, Answer>) {
        path = call.path
        isBinary = Request.self is any BinaryWire.Type && Answer.self is any BinaryWire.Type
        requestAgain = { bytes in (try? Request(wire: bytes))?.wire }
        answerAgain = { bytes in (try? Answer(wire: bytes))?.wire }
    }
}

/// Calls to one node carried in one request, each with its path and request body; the node runs them
/// all (at once) and answers each in the same order.
struct BatchRequest: BinaryWire {
    var calls: [(path: String, body: [UInt8])]
    /// Most calls in one batch.
    static let callsMax = 64

    init(calls: [(path: String, body: [UInt8])]) { self.calls = calls }

    func encode(to w: inout BinaryWriter) {
        w.write(UInt64(calls.count))
        for c in calls {
            w.write(c.path)
            w.write(bytes: c.body)
        }
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        let n = try r.readCount()
        guard n <= BatchRequest.callsMax else {
            throw BinaryError("a batch of \(n) calls (at most \(BatchRequest.callsMax))")
        }
        var calls: [(path: String, body: [UInt8])] = []
        for _ in 0..<n { calls.append((try r.readString(), try r.readBytes())) }
        self.calls = calls
    }
}

/// How one call of a batch (or a call on its own) ended on the node that ran it.
enum CallOutcome: Equatable, BinaryCodable {
    /// The encoded answer.
    case answer([UInt8])
    /// A definite error from the node's store (no such object, disk full ...).
    case storage(StorageError)
    /// Anything else (a malformed request, an unknown call, a local failure).
    case failed(String)

    func encode(to w: inout BinaryWriter) {
        switch self {
        case .answer(let bytes):
            w.write(UInt64(0))
            w.write(bytes: bytes)
        case .storage(let error):
            w.write(UInt64(1))
            w.write(bytes: ErrorEnvelope(error: error).json)
        case .failed(let why):
            w.write(UInt64(2))
            w.write(why)
        }
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        switch try r.readVarint() {
        case 0: self = .answer(try r.readBytes())
        case 1: self = .storage(try ErrorEnvelope(json: try r.readBytes()).error)
        case 2: self = .failed(try r.readString())
        case let tag: throw BinaryError("unknown call outcome \(tag)")
        }
    }
}

struct BatchAnswer: BinaryWire {
    var outcomes: [CallOutcome]
    init(outcomes: [CallOutcome]) { self.outcomes = outcomes }
    func encode(to w: inout BinaryWriter) { w.write(outcomes) }
    init(from r: inout BinaryReader) throws(BinaryError) { outcomes = try r.readArray() }
}

/// The streaming calls: their bodies are shard bytes, their arguments percent-encoded query parameters.
public enum StoragePaths {
    public static let prefix = "/_dc/v1/storage/"
    /// `PUT stage?upload=ID&part=N`: the body is written to a staged shard file.
    public static let stage = prefix + "stage"
    /// `GET shard?bucket&key&dataDir&part&offset&length`: a range of a shard file.
    public static let shard = prefix + "shard"
    /// `POST commit/locked/shard`: a locked commit whose version's shard file is the rest of the body
    /// (see `LockedCommitRequest.shardRequestHead`).
    public static let lockedCommitShard = prefix + "commit/locked/shard"
}

/// A request or answer body as bytes. Decoding never trusts the bytes: a malformed body is an error
/// that names what is wrong, never a default value.
protocol WireMessage {
    init(wire: [UInt8]) throws(BinaryError)
    var wire: [UInt8] { get }
}

/// JSON on the wire (the calls off the hot path).
protocol JSONWire: WireMessage, Codable {}

extension JSONWire {
    init(wire: [UInt8]) throws(BinaryError) {
        do {
            self = try JSONDecoder().decode(Self.self, from: Data(wire))
        } catch {
            throw BinaryError("malformed \(Self.self): \(error)")
        }
    }

    var wire: [UInt8] {
        do {
            return Array(try JSONEncoder().encode(self))
        } catch {
            // Our own plain records always encode; failing here is a bug in this program.
            preconditionFailure("\(Self.self) cannot be encoded: \(error)")
        }
    }
}

/// `BinaryCoding` on the wire (the calls of every PUT and GET).
protocol BinaryWire: WireMessage, BinaryCodable {}

extension BinaryWire {
    init(wire: [UInt8]) throws(BinaryError) { try self.init(binary: wire) }
    var wire: [UInt8] { binaryEncoded }
}

/// No content (an empty body).
struct Empty: BinaryWire, Sendable {
    init() {}
    func encode(to writer: inout BinaryWriter) {}
    init(from reader: inout BinaryReader) throws(BinaryError) {}
}

extension Array: WireMessage, JSONWire where Element: Codable {}
extension BucketInfo: JSONWire {}
extension ListPage: JSONWire {}
extension ShardCheck: JSONWire {}
extension MissedEntry: JSONWire {}
extension MultipartUpload: JSONWire {}
extension UploadState: JSONWire {}
extension ObjectMetadata: BinaryWire {}
extension CommitReceipt: BinaryWire {}

struct BucketRequest: JSONWire {
    var name: String
    var created: Int64?
    var force: Bool?
}

struct ObjectRef: BinaryWire {
    var bucket: String
    var key: String

    func encode(to w: inout BinaryWriter) {
        w.write(bucket)
        w.write(key)
    }

    init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(bucket: try r.readString(), key: try r.readString())
    }
}

struct CommitRequest: BinaryWire {
    var bucket: String
    var key: String
    var version: ObjectVersion
    var stagedUploadID: String?
    var multipartUploadID: String?
    /// A write lock grant to give back once the commit is done.
    var releasing: LockRelease?

    func encode(to w: inout BinaryWriter) {
        w.write(bucket)
        w.write(key)
        w.write(version)
        w.write(stagedUploadID)
        w.write(multipartUploadID)
        w.write(releasing)
    }

    init(
        bucket: String, key: String, version: ObjectVersion, stagedUploadID: String?, multipartUploadID: String?,
        releasing: LockRelease?
    ) {
        self.bucket = bucket
        self.key = key
        self.version = version
        self.stagedUploadID = stagedUploadID
        self.multipartUploadID = multipartUploadID
        self.releasing = releasing
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(
            bucket: try r.readString(), key: try r.readString(), version: try r.read(),
            stagedUploadID: try r.readOptionalString(), multipartUploadID: try r.readOptionalString(),
            releasing: try r.readOptional())
    }
}

/// The commit of an object whose data is inline, taking the node's grant of the object's write lock for
/// `owner` first and keeping it after the commit until the owner releases it (see `LockedCommit`). A
/// one-block object's shard comes with it in a request of its own (`StoragePaths.lockedCommitShard`).
struct LockedCommitRequest: BinaryWire {
    var bucket: String
    var key: String
    var version: ObjectVersion
    var owner: String
    var ttl: Duration

    func encode(to w: inout BinaryWriter) {
        w.write(bucket)
        w.write(key)
        w.write(version)
        w.write(owner)
        w.write(ttl.milliseconds)
    }

    init(bucket: String, key: String, version: ObjectVersion, owner: String, ttl: Duration) {
        self.bucket = bucket
        self.key = key
        self.version = version
        self.owner = owner
        self.ttl = ttl
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        let bucket = try r.readString()
        let key = try r.readString()
        let version: ObjectVersion = try r.read()
        let owner = try r.readString()
        self.init(bucket: bucket, key: key, version: version, owner: owner, ttl: try LockRequest.readTTL(&r))
    }

    /// The largest shard that comes with a commit: a write of more goes as a stream of its own.
    static let shardBytesMax = 4 << 20
    /// The largest request before the shard (the version's metadata is bounded by S3's header limits).
    static let headBytesMax = 64 << 10
    /// The request's length before it, big-endian.
    static let lengthPrefixBytes = MemoryLayout<UInt32>.size

    /// The body of a `lockedCommitShard` request: the request's length (4 bytes, big-endian), the
    /// request, then the shard's bytes to the end. Sent as two pieces, so the shard is never copied.
    func shardRequestHead() -> ByteBuffer {
        let head = wire
        let buffer = ByteBuffer(capacity: LockedCommitRequest.lengthPrefixBytes + head.count)
        _ = withUnsafeBytes(of: UInt32(head.count).bigEndian) { buffer.append($0) }
        _ = head.withUnsafeBytes { buffer.append($0) }
        return buffer
    }
}

/// What a node did with a locked commit.
public enum LockedCommitAnswer: Equatable, Sendable, BinaryWire {
    /// Granted and committed (the grant is kept until released).
    case committed(CommitReceipt)
    /// Another write holds the node's grant: nothing was done.
    case busy

    public func encode(to w: inout BinaryWriter) {
        switch self {
        case .committed(let receipt):
            w.write(UInt64(0))
            receipt.encode(to: &w)
        case .busy:
            w.write(UInt64(1))
        }
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        switch try r.readVarint() {
        case 0: self = .committed(try CommitReceipt(from: &r))
        case 1: self = .busy
        case let tag: throw BinaryError("unknown locked commit answer \(tag)")
        }
    }
}

struct AttributesRequest: BinaryWire {
    var bucket: String
    var key: String
    /// The write whose copy changes (its identity: version id, time, ETag, size).
    var write: ObjectVersion
    var attributes: VersionAttributes

    func encode(to w: inout BinaryWriter) {
        w.write(bucket)
        w.write(key)
        w.write(self.write)
        w.write(attributes)
    }

    init(bucket: String, key: String, write: ObjectVersion, attributes: VersionAttributes) {
        self.bucket = bucket
        self.key = key
        self.write = write
        self.attributes = attributes
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(bucket: try r.readString(), key: try r.readString(), write: try r.read(), attributes: try r.read())
    }
}

struct SettleRequest: BinaryWire {
    var bucket: String
    var key: String
    var write: ObjectVersion
    var undo: Bool

    func encode(to w: inout BinaryWriter) {
        w.write(bucket)
        w.write(key)
        w.write(self.write)
        w.write(undo)
    }

    init(bucket: String, key: String, write: ObjectVersion, undo: Bool) {
        self.bucket = bucket
        self.key = key
        self.write = write
        self.undo = undo
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(bucket: try r.readString(), key: try r.readString(), write: try r.read(), undo: try r.readBool())
    }
}

/// What a write lock call does with a node's grant.
public enum LockOp: UInt8, Sendable {
    case acquire, refresh, release
}

struct LockRequest: BinaryWire {
    var op: LockOp
    var resource: String
    var owner: String
    var ttl: Duration
    /// Longest grant a node gives, whatever is asked.
    static let ttlMax: Duration = .seconds(60)

    func encode(to w: inout BinaryWriter) {
        w.write(UInt64(op.rawValue))
        w.write(resource)
        w.write(owner)
        w.write(ttl.milliseconds)
    }

    init(op: LockOp, resource: String, owner: String, ttl: Duration) {
        self.op = op
        self.resource = resource
        self.owner = owner
        self.ttl = ttl
    }

    init(from r: inout BinaryReader) throws(BinaryError) {
        let code = try r.readVarint()
        guard code <= UInt64(UInt8.max), let op = LockOp(rawValue: UInt8(code)) else {
            throw BinaryError("unknown lock operation \(code)")
        }
        let resource = try r.readString()
        let owner = try r.readString()
        self.init(op: op, resource: resource, owner: owner, ttl: try LockRequest.readTTL(&r))
    }

    /// A grant's time to live, in milliseconds on the wire, refused outside 1 ms ... `ttlMax`.
    static func readTTL(_ r: inout BinaryReader) throws(BinaryError) -> Duration {
        let ms = try r.readInt64()
        guard ms > 0, ms <= LockRequest.ttlMax.milliseconds else {
            throw BinaryError("lock ttl \(ms) ms is outside 1 ms ... \(LockRequest.ttlMax.milliseconds) ms")
        }
        return .milliseconds(ms)
    }
}

extension LockRelease: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(resource)
        w.write(owner)
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(resource: try r.readString(), owner: try r.readString())
    }
}

struct LockAnswer: BinaryWire {
    var granted: Bool
    func encode(to w: inout BinaryWriter) { w.write(granted) }
    init(granted: Bool) { self.granted = granted }
    init(from r: inout BinaryReader) throws(BinaryError) { granted = try r.readBool() }
}

struct MissedDoneRequest: JSONWire {
    var ids: [String]
    var peer: String
}

struct CommitPartRequest: JSONWire {
    var uploadID: String
    var part: PartInfo
    var stagedUploadID: String
}

struct DeleteVersionRequest: JSONWire {
    var bucket: String
    var key: String
    var versionID: String
}

struct CheckShardRequest: JSONWire {
    var bucket: String
    var key: String
    var version: ObjectVersion
}

/// A listing page request (`list` and `listVersions`; `inclusive` only for the latter).
struct ListRequest: JSONWire {
    var bucket: String
    var prefix: String
    var marker: String
    var delimiter: String?
    var limit: Int
    var inclusive = false
    /// Largest page a node lists in one call.
    static let limitMax = 10_000
}

struct UploadRef: JSONWire {
    var uploadID: String
}

/// A node's definite error, as the body of a non-2xx answer (JSON).
struct ErrorEnvelope: Codable {
    var error: StorageError

    init(error: StorageError) { self.error = error }

    init(json: [UInt8]) throws(BinaryError) {
        do {
            self = try JSONDecoder().decode(ErrorEnvelope.self, from: Data(json))
        } catch {
            throw BinaryError("malformed error answer: \(error)")
        }
    }

    var json: [UInt8] {
        do {
            return Array(try JSONEncoder().encode(self))
        } catch {
            preconditionFailure("ErrorEnvelope cannot be encoded: \(error)")
        }
    }
}

extension StorageError {
    /// The HTTP status a node answers with for this error.
    var httpStatus: Int {
        switch self {
        case .bucketNotFound, .objectNotFound, .versionNotFound, .stagedNotFound, .uploadNotFound: 404
        case .bucketExists, .bucketNotEmpty, .notNewest: 409
        case .invalidBucketName, .invalidObjectName, .keyTooLong: 400
        case .diskFull: 507
        case .corrupt, .io: 500
        }
    }
}
