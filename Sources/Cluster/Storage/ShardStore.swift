import Core
import Storage

/// Why a call to a node's store did not give an answer.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The node answered with a definite error (no such object, disk full ...).
    case storage(StorageError)
    /// The node could not be reached in time (offline, refused, timed out, partitioned).
    case unreachable(String)
    /// Anything else: a malformed answer, a local failure.
    case failed(String)

    public var description: String {
        switch self {
        case .storage(let e): e.description
        case .unreachable(let why): "unreachable: \(why)"
        case .failed(let why): why
        }
    }

    public var storageError: StorageError? {
        if case .storage(let e) = self { return e }
        return nil
    }
}

/// One node's data folder as the object layer sees it, local or across the network. Loop-bound;
/// every completion runs exactly once on the loop thread.
public protocol ShardStore: AnyObject {
    var id: NodeID { get }

    /// Makes the bucket as `info` describes it (a rebuilt node: with its versioning and settings).
    func makeBucket(_ info: BucketInfo, _ done: @escaping (Result<Void, StoreError>) -> Void)
    func deleteBucket(_ name: String, force: Bool, _ done: @escaping (Result<Void, StoreError>) -> Void)
    func bucketInfo(_ name: String, _ done: @escaping (Result<BucketInfo, StoreError>) -> Void)
    func listBuckets(_ done: @escaping (Result<[BucketInfo], StoreError>) -> Void)
    func setVersioning(_ name: String, _ status: String, _ done: @escaping (Result<Void, StoreError>) -> Void)
    /// Merges a change of the bucket's settings (see `BucketSettings`).
    func changeSettings(_ name: String, _ change: BucketSettings, _ done: @escaping (Result<Void, StoreError>) -> Void)

    func readMetadata(bucket: String, key: String, _ done: @escaping (Result<ObjectMetadata, StoreError>) -> Void)
    /// Commits a version whose data is staged (`stagedUploadID`), a completed multipart upload
    /// (`multipartUploadID`), or inline (neither), then gives back the lock grant `releasing` (if any)
    /// whatever the outcome. See `Disk.commit`.
    func commit(
        bucket: String, key: String, version: ObjectVersion, stagedUploadID: String?, multipartUploadID: String?,
        releasing: LockRelease?, _ done: @escaping (Result<CommitReceipt, StoreError>) -> Void)
    /// Settles a committed write: `undo` takes it back (restoring what it replaced), else what it
    /// replaced is dropped. See `Disk.settle`.
    func settle(
        bucket: String, key: String, write: ObjectVersion, undo: Bool,
        _ done: @escaping (Result<Void, StoreError>) -> Void)
    /// Sets the attributes of the node's copy of `write` when newer than its own (`Disk.setAttributes`).
    func setAttributes(
        bucket: String, key: String, write: ObjectVersion, _ attributes: VersionAttributes,
        _ done: @escaping (Result<Void, StoreError>) -> Void)
    func deleteVersion(
        bucket: String, key: String, versionID: String, _ done: @escaping (Result<Void, StoreError>) -> Void)
    /// Reads back this node's shard of `version` and checks every frame (the dashboard's shard map).
    func checkShard(
        bucket: String, key: String, version: ObjectVersion, _ done: @escaping (Result<ShardCheck, StoreError>) -> Void)
    func list(
        bucket: String, prefix: String, marker: String, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void)
    /// Keys from `from` (included when `inclusive`) with all their versions; see `Disk.listVersions`.
    func listVersions(
        bucket: String, prefix: String, from: String, inclusive: Bool, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void)

    /// Acquires, refreshes or releases this node's grant of a write lock (the node's `LockTable`).
    /// Succeeds with whether it was granted.
    func lock(
        _ op: LockOp, resource: String, owner: String, ttl: Duration,
        _ done: @escaping (Result<Bool, StoreError>) -> Void)
    /// Takes this node's grant of the object's write lock for `owner` (for `ttl`) and commits `version`,
    /// whose data is inline or is `shard` (stored as the version's data folder), keeping the grant;
    /// `busy` (and nothing done) when another owner holds it.
    func lockedCommit(
        bucket: String, key: String, version: ObjectVersion, shard: ByteBuffer?, owner: String, ttl: Duration,
        _ done: @escaping (Result<LockedCommitAnswer, StoreError>) -> Void)
    /// Gives back `owner`'s grant of `resource`, without waiting for an answer: a remote node gets it
    /// with the next calls to it (or within `RemoteStore.deferredWaitMax`).
    func releaseSoon(resource: String, owner: String)
    /// The node is stopping: calls not sent yet fail (a remote node's grants they would have given
    /// back expire by themselves).
    func close()

    /// Records missed writes in the node's durable journal (synced before it answers).
    func recordMissed(_ entries: [MissedEntry], _ done: @escaping (Result<Void, StoreError>) -> Void)
    /// Marks journal entries replayed on `peer` (another holder did it).
    func markMissedDone(_ ids: [String], peer: NodeID, _ done: @escaping (Result<Void, StoreError>) -> Void)

    func createUpload(_ upload: MultipartUpload, _ done: @escaping (Result<Void, StoreError>) -> Void)
    func uploadState(_ uploadID: String, _ done: @escaping (Result<UploadState, StoreError>) -> Void)
    func commitPart(
        uploadID: String, part: PartInfo, stagedUploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void)
    func abortUpload(_ uploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void)
    func listUploads(bucket: String, _ done: @escaping (Result<[MultipartUpload], StoreError>) -> Void)

    /// A writer for the shard file of an upload (of part `part`; `length` when known); its frames are
    /// staged until commit.
    func stage(uploadID: String, part: Int, length: Int64?) -> ShardWriter
    /// A reader of `length` bytes of a version's shard file (of `part`) from `offset`.
    func openShard(
        bucket: String, key: String, dataDir: String, part: Int, offset: Int64, length: Int64
    ) -> ShardReader
}

/// Writes a staged shard file in order; back-pressure: write the next frame after `done`.
public protocol ShardWriter: AnyObject {
    func write(_ frame: ByteBuffer, _ done: @escaping (StoreError?) -> Void)
    /// Flushes and fsyncs the file; success means it is durable and ready to commit.
    func finish(_ done: @escaping (Result<Void, StoreError>) -> Void)
    /// Drops the staged file.
    func abort()
}

/// Reads a range of a shard file in pieces.
public protocol ShardReader: AnyObject {
    /// Exactly `bytes` more bytes, or an error (a short file is an error).
    func read(_ bytes: Int, _ done: @escaping (Result<ByteBuffer, StoreError>) -> Void)
    func close()
}
