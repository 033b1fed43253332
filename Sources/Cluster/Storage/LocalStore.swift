import Core
import Loop
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// This node's own data folder: blocking `Disk` calls run on the thread pool through `queue`; shard
/// files are written and read with `uv_fs` requests. Loop-bound.
public final class LocalStore: ShardStore {
    public let id: NodeID
    public let disk: Disk
    let loop: EventLoop
    let queue: WorkQueue
    /// This node's share of the write locks (in memory: a restarted node grants afresh, and a quorum
    /// of the others still holds what it forgot).
    var locks = LockTable()
    /// Called when a bucket was made, removed or changed here (by any node): caches of it are stale.
    public var onBucketChanged: ((String) -> Void)?

    public init(id: NodeID, disk: Disk, loop: EventLoop, queue: WorkQueue) {
        self.id = id
        self.disk = disk
        self.loop = loop
        self.queue = queue
    }

    /// Runs a blocking disk call on the pool and its result on the loop. A `quick` call (one object's
    /// metadata, bounded) on a folder in memory runs on the loop at once: it cannot wait for a device,
    /// and costs less than the round trip to a pool thread.
    func run<T: Sendable>(
        quick: Bool = false, _ work: @escaping @Sendable (Disk) throws(StorageError) -> T,
        _ done: @escaping (Result<T, StoreError>) -> Void
    ) {
        let disk = self.disk
        if quick && disk.isInMemory {
            do throws(StorageError) {
                return done(.success(try work(disk)))
            } catch {
                return done(.failure(.storage(error)))
            }
        }
        do {
            try queue.submit({ () -> Result<T, StorageError> in
                do throws(StorageError) {
                    return .success(try work(disk))
                } catch {
                    return .failure(error)
                }
            }) { result in
                switch result {
                case .success(.success(let value)): done(.success(value))
                case .success(.failure(let error)): done(.failure(.storage(error)))
                case .failure(let failure): done(.failure(.failed(failure.description)))
                }
            }
        } catch {
            done(.failure(.failed(error.description)))
        }
    }

    public func makeBucket(_ info: BucketInfo, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        run(
            { disk throws(StorageError) in
                try disk.makeBucket(
                    info.name, created: info.created, versioning: info.versioning, settings: info.settings)
            }, changed(info.name, done))
    }

    public func deleteBucket(_ name: String, force: Bool, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.deleteBucket(name, force: force) }, changed(name, done))
    }

    public func bucketInfo(_ name: String, _ done: @escaping (Result<BucketInfo, StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.bucketInfo(name) }, done)
    }

    public func listBuckets(_ done: @escaping (Result<[BucketInfo], StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.listBuckets() }, done)
    }

    public func setVersioning(_ name: String, _ status: String, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.setVersioning(name, status) }, changed(name, done))
    }

    public func changeSettings(
        _ name: String, _ change: BucketSettings, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        run({ disk throws(StorageError) in try disk.changeSettings(name, change) }, changed(name, done))
    }

    /// `done`, after telling `onBucketChanged` of a change that happened.
    private func changed(
        _ name: String, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) -> (Result<Void, StoreError>) -> Void {
        { [self] result in
            if case .success = result { onBucketChanged?(name) }
            done(result)
        }
    }

    public func listVersions(
        bucket: String, prefix: String, from: String, inclusive: Bool, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void
    ) {
        run(
            { disk throws(StorageError) in
                try disk.listVersions(
                    bucket: bucket, prefix: prefix, from: from, inclusive: inclusive, delimiter: delimiter, limit: limit
                )
            }, done)
    }

    public func readMetadata(
        bucket: String, key: String, _ done: @escaping (Result<ObjectMetadata, StoreError>) -> Void
    ) {
        // A cached object is answered at once, on the loop: no thread-pool round trip.
        if let cached = disk.metadataCache.get(bucket: bucket, key: key) { return done(.success(cached)) }
        run(quick: true, { disk throws(StorageError) in try disk.readMetadata(bucket: bucket, key: key) }, done)
    }

    public func commit(
        bucket: String, key: String, version: ObjectVersion, stagedUploadID: String?, multipartUploadID: String?,
        releasing: LockRelease?, _ done: @escaping (Result<CommitReceipt, StoreError>) -> Void
    ) {
        // An inline commit is one object's metadata: quick. Moving data folders in is not always.
        run(
            quick: stagedUploadID == nil && multipartUploadID == nil,
            { disk throws(StorageError) in
                try disk.commit(
                    bucket: bucket, key: key, version: version, stagedUploadID: stagedUploadID,
                    multipartUploadID: multipartUploadID)
            }
        ) { [self] result in
            if let releasing { locks.release(releasing.resource, owner: releasing.owner) }
            done(result)
        }
    }

    public func lock(
        _ op: LockOp, resource: String, owner: String, ttl: Duration,
        _ done: @escaping (Result<Bool, StoreError>) -> Void
    ) {
        let now = loop.now
        switch op {
        case .acquire: done(.success(locks.acquire(resource, owner: owner, now: now, ttl: ttl)))
        case .refresh: done(.success(locks.refresh(resource, owner: owner, now: now, ttl: ttl)))
        case .release:
            locks.release(resource, owner: owner)
            done(.success(true))
        }
    }

    public func lockedCommit(
        bucket: String, key: String, version: ObjectVersion, shard: ByteBuffer?, owner: String, ttl: Duration,
        _ done: @escaping (Result<LockedCommitAnswer, StoreError>) -> Void
    ) {
        let resource = ObjectLock.resource(bucket: bucket, key: key)
        guard locks.acquire(resource, owner: owner, now: loop.now, ttl: ttl) else { return done(.success(.busy)) }
        guard let shard else {
            return run(
                quick: true,
                { disk throws(StorageError) in
                    try disk.commit(bucket: bucket, key: key, version: version, stagedUploadID: nil, onlyIfNewest: true)
                }
            ) { done($0.map { .committed($0) }) }
        }
        // One pool job stages the shard file and commits it.
        run(
            { disk throws(StorageError) in
                guard let dataDir = version.dataDir else { throw .stagedNotFound("a shard with no data folder") }
                let path = try disk.beginStaging(uploadID: dataDir)
                // Moved in by the commit; left over when the commit was refused or found it in place.
                defer { disk.abortStaging(uploadID: dataDir) }
                try LocalShardWriter.writeWhole(path, shard)
                return try disk.commit(
                    bucket: bucket, key: key, version: version, stagedUploadID: dataDir, onlyIfNewest: true)
            }
        ) { done($0.map { .committed($0) }) }
    }

    public func releaseSoon(resource: String, owner: String) {
        locks.release(resource, owner: owner)
    }

    public func close() {}

    public func recordMissed(_ entries: [MissedEntry], _ done: @escaping (Result<Void, StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.recordMissed(entries) }, done)
    }

    public func markMissedDone(
        _ ids: [String], peer: NodeID, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        run({ disk throws(StorageError) in disk.markMissedDone(ids, peer: peer.rawValue) }, done)
    }

    public func createUpload(_ upload: MultipartUpload, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.createUpload(upload) }, done)
    }

    public func uploadState(_ uploadID: String, _ done: @escaping (Result<UploadState, StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.uploadState(uploadID) }, done)
    }

    public func commitPart(
        uploadID: String, part: PartInfo, stagedUploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        run(
            { disk throws(StorageError) in
                try disk.commitPart(uploadID: uploadID, part: part, stagedUploadID: stagedUploadID)
            }, done)
    }

    public func abortUpload(_ uploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.abortUpload(uploadID) }, done)
    }

    public func listUploads(bucket: String, _ done: @escaping (Result<[MultipartUpload], StoreError>) -> Void) {
        run({ disk throws(StorageError) in try disk.listUploads(bucket: bucket) }, done)
    }

    public func settle(
        bucket: String, key: String, write: ObjectVersion, undo: Bool,
        _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        run({ disk throws(StorageError) in try disk.settle(bucket: bucket, key: key, write: write, undo: undo) }, done)
    }

    public func setAttributes(
        bucket: String, key: String, write: ObjectVersion, _ attributes: VersionAttributes,
        _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        run(
            quick: true,
            { disk throws(StorageError) in try disk.setAttributes(bucket: bucket, key: key, write: write, attributes) },
            done)
    }

    public func deleteVersion(
        bucket: String, key: String, versionID: String, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        run(
            { disk throws(StorageError) in try disk.deleteVersion(bucket: bucket, key: key, versionID: versionID) },
            done)
    }

    public func list(
        bucket: String, prefix: String, marker: String, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void
    ) {
        run(
            { disk throws(StorageError) in
                try disk.list(bucket: bucket, prefix: prefix, marker: marker, delimiter: delimiter, limit: limit)
            }, done)
    }

    /// Drops whatever is staged under `uploadID` (a coordinator's abort).
    func abortStaging(uploadID: String) {
        run({ disk throws(StorageError) in disk.abortStaging(uploadID: uploadID) }) { _ in }
    }

    public func stage(uploadID: String, part: Int, length: Int64?) -> ShardWriter {
        LocalShardWriter(store: self, uploadID: uploadID, part: part)
    }

    public func openShard(
        bucket: String, key: String, dataDir: String, part: Int, offset: Int64, length: Int64
    ) -> ShardReader {
        LocalShardReader(
            store: self,
            path: Result { () throws(StorageError) in
                try disk.shardPath(bucket: bucket, key: key, dataDir: dataDir, part: part)
            },
            offset: offset, length: length)
    }
}

/// Maps a failed `uv_fs` call to a store error (a full disk is its own case).
func storeError(_ error: UVError, path: String) -> StoreError {
    if error.isNoSpace { return .storage(.diskFull(path: path)) }
    return .storage(.io(path: path, errno: -error.code, operation: error.operation))
}

/// Reads a shard file range with positioned reads.
final class LocalShardReader: ShardReader {
    let store: LocalStore
    private var descriptor: Int32?
    private var offset: Int64
    private let end: Int64
    private var failure: StoreError?
    private var waiting: [(Int, (Result<ByteBuffer, StoreError>) -> Void)] = []
    private var opened = false
    private var closed = false
    let path: String

    init(store: LocalStore, path: Result<String, StorageError>, offset: Int64, length: Int64) {
        self.store = store
        self.offset = offset
        self.end = offset + length
        switch path {
        case .failure(let e):
            self.path = ""
            failure = .storage(e)
            opened = true
        case .success(let p):
            self.path = p
            FileSystem.open(loop: store.loop, path: p, flags: O_RDONLY) { [self] r in
                opened = true
                switch r {
                case .failure(let e):
                    failure =
                        e.isNotFound
                        ? .storage(.corrupt(path: p, reason: "the shard file is missing")) : storeError(e, path: p)
                case .success(let fd):
                    if closed { FileSystem.close(loop: store.loop, descriptor: fd) { _ in } } else { descriptor = fd }
                }
                drain()
            }
        }
    }

    func read(_ bytes: Int, _ done: @escaping (Result<ByteBuffer, StoreError>) -> Void) {
        waiting.append((bytes, done))
        if opened && waiting.count == 1 { drain() }
    }

    private func drain() {
        guard let (bytes, done) = waiting.first else { return }
        if let failure {
            waiting = []
            return done(.failure(failure))
        }
        guard let fd = descriptor else { return }
        guard offset + Int64(bytes) <= end else {
            waiting.removeFirst()
            done(.failure(.failed("read past the requested range")))
            return drain()
        }
        let buffer = ByteBuffer(capacity: bytes)
        fill(fd, buffer) { [self] result in
            waiting.removeFirst()
            done(result)
            drain()
        }
    }

    private func fill(_ fd: Int32, _ buffer: ByteBuffer, _ done: @escaping (Result<ByteBuffer, StoreError>) -> Void) {
        FileSystem.read(loop: store.loop, descriptor: fd, into: buffer, offset: offset) { [self] r in
            switch r {
            case .failure(let e): done(.failure(storeError(e, path: path)))
            case .success(0):
                done(
                    .failure(.storage(.corrupt(path: path, reason: "the shard file is shorter than its metadata says")))
                )
            case .success(let n):
                offset += Int64(n)
                if buffer.isFull { done(.success(buffer)) } else { fill(fd, buffer, done) }
            }
        }
    }

    func close() {
        closed = true
        if let fd = descriptor {
            descriptor = nil
            FileSystem.close(loop: store.loop, descriptor: fd) { _ in }
        }
    }
}
