import CFiles
import Core
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One node's data folder:
///
/// ```
/// data/
///   .dc/format.json          which deployment and node this folder belongs to
///   .dc/tmp/<uuid>/          staged writes (anything here at start was never committed)
///   .dc/spare/f<n>, d<n>     emptied files and folders kept for reuse (see Spares)
///   .dc/intents.log          commits begun (replayed at start: see IntentJournal)
///   .dc/missed.log           writes other nodes missed, to replay on them (see MissedJournal)
///   .dc/buckets/<name>.json  bucket records
///   <bucket>/<key segments>/%meta               object metadata (MetadataFile): the commit point
///   <bucket>/<key segments>/%data-<uuid>/part.1 this node's shard file
/// ```
///
/// Every method blocks: call them from thread-pool jobs, never from the loop thread. Thread-safe: writes
/// to one object are serialised by a striped lock.
public final class Disk: Sendable {
    public let root: String
    let tmp: String
    let bucketsDir: String
    private let locks: [StripeLock] = (0..<64).map { _ in StripeLock() }
    let journal: IntentJournal
    let missed: MissedJournal
    /// Big folders in listing order, for listings that page through them.
    let folders = FolderIndex()
    /// Recently used objects' metadata (see `MetadataCache`): every `%meta` change below updates it.
    public let metadataCache: MetadataCache
    /// Emptied files and folders kept for reuse (see `Spares`).
    let spares: Spares
    /// Held while an object's folder is made, moved to the spares, or given an entry by a rename: a
    /// folder found empty is then still empty when it is moved (objects' folders are shared with the
    /// keys below them, whose writes hold other stripes).
    private let folderLock = Mutex(())
    /// An injected full disk (devcluster's `disk-full`): every new file is refused with ENOSPC.
    private let injectedFull = Atomic<Bool>(false)
    /// Called at each step of a commit; a test's hook throws to stop the commit there, as a crash would.
    let crashPoint: (@Sendable (CommitStep) throws(StorageError) -> Void)?

    /// The steps of a commit, in order (see `commit`): where a crash can cut it.
    public enum CommitStep: CaseIterable, Sendable {
        case folderMade, intentRecorded, dataMovedIn, metadataStaged, metadataRenamed
    }

    /// Makes the disk refuse (or take again) every write, as a full one does.
    public func setInjectedFull(_ full: Bool) {
        injectedFull.store(full, ordering: .relaxed)
    }

    public var isInjectedFull: Bool { injectedFull.load(ordering: .relaxed) }

    /// Throws the error a full disk gives when a full disk is injected.
    func checkRoom(_ path: String) throws(StorageError) {
        if isInjectedFull { throw .diskFull(path: path) }
    }

    /// Whether the folder is in memory (tmpfs): its calls never wait for a device.
    public let isInMemory: Bool

    /// Default size of the metadata cache (`storage.metadataCacheBytes`).
    public static let metadataCacheBytesDefault = 32 << 20

    /// `keepsSpares`: whether emptied files and folders are kept for reuse (default: unless the folder is
    /// on tmpfs).
    public init(
        root: String, metadataCacheBytes: Int = Disk.metadataCacheBytesDefault, keepsSpares: Bool? = nil,
        crashPoint: (@Sendable (CommitStep) throws(StorageError) -> Void)? = nil
    ) throws(StorageError) {
        self.root = root
        self.crashPoint = crashPoint
        metadataCache = MetadataCache(bytesMax: metadataCacheBytes)
        tmp = root + "/.dc/tmp"
        bucketsDir = root + "/.dc/buckets"
        try FileOps.makeDirectories(tmp)
        try FileOps.makeDirectories(bucketsDir)
        isInMemory = dc_is_tmpfs(root) == 1
        spares = try Spares(folder: root + "/.dc/spare", enabled: keepsSpares ?? !isInMemory)
        journal = try IntentJournal(path: root + "/.dc/intents.log")
        missed = try MissedJournal(path: root + "/.dc/missed.log")
    }

    // MARK: Format

    var formatPath: String { root + "/.dc/format.json" }

    public func readFormat() throws(StorageError) -> DiskFormat? {
        guard FileOps.exists(formatPath) else { return nil }
        let bytes = try FileOps.read(formatPath)
        do {
            return try JSONDecoder().decode(DiskFormat.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: formatPath, reason: "\(error)")
        }
    }

    public func writeFormat(_ format: DiskFormat) throws(StorageError) {
        try writeJSON(format, to: formatPath)
    }

    /// Whether the folder holds any bucket (a folder with data but no format is not ours to take).
    public var holdsData: Bool {
        ((try? FileOps.entries(bucketsDir)) ?? []).contains { $0.hasSuffix(".json") }
    }

    /// Removes staged writes left by a crash: they were never committed, so no reader can need them.
    @discardableResult
    public func removeStaged() -> Int {
        let names = (try? FileOps.entries(tmp)) ?? []
        for name in names { removeTree(tmp + "/" + name) }
        return names.count
    }

    /// Replays the intent journal (at start, before serving): removes the data folders of commits a
    /// crash interrupted after the data moved in but before the metadata named it. Returns how many.
    @discardableResult
    public func removeInterruptedCommits() -> Int {
        var removed = 0
        for intent in journal.intents() {
            guard (try? validUploadID(intent.data)) != nil, !intent.object.contains("..") else { continue }
            let objectDir = root + "/" + intent.object
            let dataPath = objectDir + "/" + ObjectKey.dataDirPrefix + intent.data
            guard FileOps.exists(dataPath) else { continue }
            let metaPath = objectDir + "/" + ObjectKey.metadataFile
            let metadata = FileOps.exists(metaPath) ? try? decodeMetadata(metaPath) : ObjectMetadata()
            guard let metadata else { continue }  // unreadable: leave it for a human (or the scanner)
            let used = metadata.versions.map(\.dataDir) + [metadata.replaced?.version.dataDir]
            if !used.contains(intent.data) {
                removeTree(dataPath)
                removed += 1
            }
        }
        journal.clear()
        return removed
    }

    // MARK: Buckets

    func bucketRecord(_ name: String) -> String { bucketsDir + "/" + name + ".json" }
    func bucketPath(_ name: String) -> String { root + "/" + name }

    /// Makes a bucket (`settings` and `versioning`: a bucket made with object lock on).
    public func makeBucket(
        _ name: String, created: Int64, versioning: String? = nil, settings: BucketSettings = BucketSettings()
    ) throws(StorageError) {
        try BucketName.validate(name)
        try locked(name, "") { () throws(StorageError) in
            guard !FileOps.exists(bucketRecord(name)) else { throw .bucketExists(name) }
            try FileOps.makeDirectories(bucketPath(name))
            FileOps.syncDirectory(root)
            let info = BucketInfo(name: name, created: created, versioning: versioning, settings: settings)
            try writeJSON(info, to: bucketRecord(name))
        }
    }

    public func bucketInfo(_ name: String) throws(StorageError) -> BucketInfo {
        try BucketName.validate(name)
        guard FileOps.exists(bucketRecord(name)) else { throw .bucketNotFound(name) }
        let bytes = try FileOps.read(bucketRecord(name))
        do {
            return try JSONDecoder().decode(BucketInfo.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: bucketRecord(name), reason: "\(error)")
        }
    }

    /// Sets a bucket's versioning (`Enabled` or `Suspended`).
    public func setVersioning(_ name: String, _ status: String) throws(StorageError) {
        try locked(name, "") { () throws(StorageError) in
            var info = try bucketInfo(name)
            info.versioning = status
            try writeJSON(info, to: bucketRecord(name))
        }
    }

    /// Merges a change of a bucket's settings into this node's copy (each setting: the newer wins, so
    /// changes arriving out of order or twice end the same).
    public func changeSettings(_ name: String, _ change: BucketSettings) throws(StorageError) {
        try locked(name, "") { () throws(StorageError) in
            var info = try bucketInfo(name)
            let merged = info.settings.merged(with: change)
            guard merged != info.settings else { return }
            info.settings = merged
            try writeJSON(info, to: bucketRecord(name))
        }
    }

    public func listBuckets() throws(StorageError) -> [BucketInfo] {
        var out: [BucketInfo] = []
        for file in try FileOps.entries(bucketsDir) where file.hasSuffix(".json") {
            if let info = try? bucketInfo(String(file.dropLast(5))) { out.append(info) }
        }
        return out.sorted { $0.name < $1.name }
    }

    /// Deletes an empty bucket: no object, no version, no delete marker (`force` deletes its objects
    /// too: used to undo a failed create).
    public func deleteBucket(_ name: String, force: Bool = false) throws(StorageError) {
        _ = try bucketInfo(name)
        try locked(name, "") { () throws(StorageError) in
            if !force {
                // Any version counts, a noncurrent one or a delete marker too (S3's rule): a bucket whose
                // objects are all deleted under versioning still holds their history.
                let page = try listVersions(
                    bucket: name, prefix: "", from: "", inclusive: false, delimiter: nil, limit: 1)
                guard page.entries.isEmpty else { throw .bucketNotEmpty(name) }
            }
            unlink(bucketRecord(name))
            FileOps.syncDirectory(bucketsDir)
            metadataCache.removeBucket(name)
            let trash = tmp + "/deleted-bucket-" + Crypto.randomBytes(8).hexString
            if Glibc.rename(bucketPath(name), trash) == 0 { removeTree(trash) }
        }
    }

    // MARK: Objects

    /// The folder of an object.
    public func objectPath(bucket: String, key: String) throws(StorageError) -> String {
        try bucketPath(bucket) + "/" + ObjectKey.segments(key).joined(separator: "/")
    }

    /// The object's metadata: from the cache, else from its file (then cached).
    public func readMetadata(bucket: String, key: String) throws(StorageError) -> ObjectMetadata {
        if let cached = metadataCache.get(bucket: bucket, key: key) { return cached }
        let path = try objectPath(bucket: bucket, key: key) + "/" + ObjectKey.metadataFile
        // Under the object's lock, so no commit replaces the file between this read and the caching.
        let found = try locked(bucket, key) { () throws(StorageError) -> ObjectMetadata? in
            guard let bytes = try FileOps.readIfExists(path) else { return nil }
            let metadata = try decodeMetadata(bytes, path: path)
            metadataCache.put(bucket: bucket, key: key, metadata, encodedBytes: bytes.count)
            return metadata
        }
        guard let found else {
            guard FileOps.exists(bucketRecord(bucket)) else { throw .bucketNotFound(bucket) }
            throw .objectNotFound(bucket: bucket, key: key)
        }
        return found
    }

    /// The object's metadata as its file holds it now, whatever the cache says (the scanner's check
    /// for bitrot); a cached copy that differs is dropped, so reads go back to the file.
    public func readMetadataFile(bucket: String, key: String) throws(StorageError) -> ObjectMetadata {
        let path = try objectPath(bucket: bucket, key: key) + "/" + ObjectKey.metadataFile
        return try locked(bucket, key) { () throws(StorageError) -> ObjectMetadata in
            let cached = metadataCache.get(bucket: bucket, key: key)
            do throws(StorageError) {
                guard let bytes = try FileOps.readIfExists(path) else {
                    guard FileOps.exists(bucketRecord(bucket)) else { throw .bucketNotFound(bucket) }
                    throw .objectNotFound(bucket: bucket, key: key)
                }
                let metadata = try decodeMetadata(bytes, path: path)
                if cached != nil && cached != metadata { metadataCache.remove(bucket: bucket, key: key) }
                return metadata
            } catch {
                if cached != nil { metadataCache.remove(bucket: bucket, key: key) }
                throw error
            }
        }
    }

    /// The object's metadata for a change: the caller holds its stripe lock. Nil when there is none.
    func currentMetadata(bucket: String, key: String, at metaPath: String) throws(StorageError) -> ObjectMetadata? {
        if let cached = metadataCache.get(bucket: bucket, key: key) { return cached }
        guard let bytes = try FileOps.readIfExists(metaPath) else { return nil }
        return try decodeMetadata(bytes, path: metaPath)
    }

    func decodeMetadata(_ path: String) throws(StorageError) -> ObjectMetadata {
        try decodeMetadata(try FileOps.read(path), path: path)
    }

    func decodeMetadata(_ bytes: [UInt8], path: String) throws(StorageError) -> ObjectMetadata {
        do {
            return try MetadataFile.decode(bytes)
        } catch {
            throw .corrupt(path: path, reason: error.description)
        }
    }

    /// Where a staged shard file (of part `part`) is written before its commit.
    public func stagedShardPath(uploadID: String, part: Int = 1) -> String { tmp + "/" + uploadID + "/part.\(part)" }

    /// Prepares a staging folder for an upload's shard file (a heal of a multipart object stages each
    /// of its parts in the same folder).
    public func beginStaging(uploadID: String, part: Int = 1) throws(StorageError) -> String {
        try validUploadID(uploadID)
        guard (1...MultipartLimits.partNumberMax).contains(part) else {
            throw .invalidObjectName(reason: "bad part number")
        }
        try checkRoom(tmp)
        try makeFolders(tmp + "/" + uploadID)
        let path = stagedShardPath(uploadID: uploadID, part: part)
        _ = spares.takeFile(at: path)  // the writer opens it truncated
        return path
    }

    public func abortStaging(uploadID: String) {
        guard (try? validUploadID(uploadID)) != nil else { return }
        removeTree(tmp + "/" + uploadID)
    }

    func validUploadID(_ id: String) throws(StorageError) {
        guard UploadID.isWellFormed(id) else { throw .invalidObjectName(reason: "bad upload id") }
    }

    /// Commits `version`: moves its staged data (if any) into the object's folder, then writes the new
    /// metadata and renames it into place, the moment the write becomes visible. A version with the same
    /// id (the `null` version of an unversioned bucket) is replaced; it is kept, data and all, as the
    /// object's `replaced` version until `settle` (an earlier one still unsettled is dropped now).
    /// Committing a write this node already holds is a heal: its shard (data folder or inline frames)
    /// is swapped for the new one; the same shard again changes nothing (a retried commit). A write
    /// older than the version it would replace (by modification time) changes nothing either.
    /// The data comes from `stagedUploadID` (a staged single-part write), or from the multipart upload
    /// `multipartUploadID` (its folder becomes the data folder), or is inline (neither).
    /// `onlyIfNewest`: a new write (not a heal or a replay) that is refused with `notNewest`, changing
    /// nothing, unless it is later than every version the node holds: versions are ordered by their
    /// commits, and the writer stamps it again.
    @discardableResult
    public func commit(
        bucket: String, key: String, version: ObjectVersion, stagedUploadID: String?,
        multipartUploadID: String? = nil, onlyIfNewest: Bool = false
    ) throws(StorageError) -> CommitReceipt {
        let objectDir = try objectPath(bucket: bucket, key: key)
        guard FileOps.exists(bucketRecord(bucket)) else { throw .bucketNotFound(bucket) }
        let receipt = try locked(bucket, key) { () throws(StorageError) -> CommitReceipt in
            // A new folder's entry in its parent is made durable like any other part of the write.
            for made in try makeFolders(objectDir) { FileOps.syncDirectory(FileOps.parent(of: made)) }
            try crashPoint?(.folderMade)
            let metaPath = objectDir + "/" + ObjectKey.metadataFile
            let current = try currentMetadata(bucket: bucket, key: key, at: metaPath)
            var metadata = current ?? ObjectMetadata()
            let held = metadata.versions.firstIndex { $0.sameWrite(as: version) }
            if let held, metadata.versions[held].dataDir == version.dataDir,
                metadata.versions[held].inline == version.inline
            {
                return CommitReceipt(keepsReplacedData: false)  // a retried commit: already in place
            }
            if onlyIfNewest, held == nil, let newest = metadata.versions.map(\.modTime).max(),
                newest >= version.modTime
            {
                throw .notNewest(bucket: bucket, key: key, newest: newest)
            }
            if held == nil, let newer = metadata.versions.first(where: { $0.versionID == version.versionID }),
                (newer.modTime, newer.etag) > (version.modTime, version.etag)
            {
                // Two writes of one version id raced: every node keeps the later one, whatever order
                // their commits arrived in. This one is already overwritten.
                if let staged = stagedUploadID { abortStaging(uploadID: staged) }
                if let upload = multipartUploadID { try? abortUpload(upload) }
                return CommitReceipt(keepsReplacedData: false)
            }
            var source: String?
            if let staged = stagedUploadID {
                try validUploadID(staged)
                for part in version.storedParts
                where !FileOps.exists(stagedShardPath(uploadID: staged, part: part.number)) {
                    throw .stagedNotFound("\(staged)/part.\(part.number)")
                }
                source = tmp + "/" + staged
            } else if let upload = multipartUploadID {
                source = try prepareCompletion(uploadID: upload, parts: version.storedParts)
            }
            if let source {
                guard let dataDir = version.dataDir else { throw .stagedNotFound(source) }
                try validUploadID(dataDir)
                try journal.record(.init(object: String(objectDir.dropFirst(root.count + 1)), data: dataDir))
                try crashPoint?(.intentRecorded)
                let dataPath = objectDir + "/" + ObjectKey.dataDirPrefix + dataDir
                try folderLock.withLock { _ throws(StorageError) in try FileOps.rename(source, dataPath) }
                // The shard files' entries were made in the staging folder: durable with it now.
                FileOps.syncDirectory(dataPath)
                try crashPoint?(.dataMovedIn)
            }
            if let held {
                // A heal: the version keeps its place, with its new shard.
                let old = metadata.versions[held]
                metadata.versions[held] = version
                try writeMetadata(metadata, bucket: bucket, key: key, at: metaPath, replacing: true)
                removeData(of: [old], unlessUsedBy: metadata, in: objectDir)
                return CommitReceipt(keepsReplacedData: false)
            }
            let dropped = metadata.replaced.map { [$0.version] } ?? []
            let replaced = metadata.versions.first { $0.versionID == version.versionID }
            metadata.versions.removeAll { $0.versionID == version.versionID }
            metadata.versions.insert(version, at: 0)
            metadata.versions.sort { $0.modTime > $1.modTime }
            metadata.replaced = replaced.map { ReplacedVersion(version: $0, by: version) }
            try writeMetadata(metadata, bucket: bucket, key: key, at: metaPath, replacing: current != nil)
            removeData(of: dropped, unlessUsedBy: metadata, in: objectDir)
            return CommitReceipt(keepsReplacedData: replaced?.dataDir != nil)
        }
        if journal.isOversized { withEveryLock { journal.clear() } }
        return receipt
    }

    /// Settles a committed write once the coordinator knows its outcome: `undo` (it failed its quorum)
    /// removes it and restores the version it replaced; otherwise the replaced version's data goes.
    /// Settling a write this node does not hold (never committed, or settled already) changes nothing.
    public func settle(bucket: String, key: String, write: ObjectVersion, undo: Bool) throws(StorageError) {
        let objectDir = try objectPath(bucket: bucket, key: key)
        try locked(bucket, key) { () throws(StorageError) in
            let metaPath = objectDir + "/" + ObjectKey.metadataFile
            guard var metadata = try currentMetadata(bucket: bucket, key: key, at: metaPath) else { return }
            let replaced = metadata.replaced.flatMap { $0.by.sameWrite(as: write) ? $0.version : nil }
            var gone: [ObjectVersion] = []
            if undo {
                gone = metadata.versions.filter { $0.sameWrite(as: write) }
                guard !gone.isEmpty else { return }
                metadata.versions.removeAll { $0.sameWrite(as: write) }
                if let replaced {
                    metadata.versions.append(replaced)
                    metadata.versions.sort { $0.modTime > $1.modTime }
                }
            } else {
                guard let replaced else { return }
                gone = [replaced]
            }
            if replaced != nil { metadata.replaced = nil }
            try rewrite(metadata, dropping: gone, in: objectDir, bucket: bucket, key: key)
        }
    }

    /// Removes the data folders of `versions` that no version of `metadata` still points at.
    func removeData(of versions: [ObjectVersion], unlessUsedBy metadata: ObjectMetadata, in objectDir: String) {
        let used = Set(metadata.versions.compactMap(\.dataDir) + [metadata.replaced?.version.dataDir].compactMap { $0 })
        for dataDir in versions.compactMap(\.dataDir) where !used.contains(dataDir) {
            removeTree(objectDir + "/" + ObjectKey.dataDirPrefix + dataDir)
        }
    }

    /// Sets the attributes (tags, retention, legal hold) of the node's copy of `write`, if they are newer
    /// than its own; a copy of another write (or none) is `versionNotFound`.
    public func setAttributes(
        bucket: String, key: String, write: ObjectVersion, _ attributes: VersionAttributes
    ) throws(StorageError) {
        let objectDir = try objectPath(bucket: bucket, key: key)
        try locked(bucket, key) { () throws(StorageError) in
            let metaPath = objectDir + "/" + ObjectKey.metadataFile
            guard var metadata = try currentMetadata(bucket: bucket, key: key, at: metaPath),
                let i = metadata.versions.firstIndex(where: { $0.sameWrite(as: write) })
            else {
                throw .versionNotFound(bucket: bucket, key: key, versionID: write.versionID)
            }
            guard attributes.time > metadata.versions[i].attributesTime else { return }
            metadata.versions[i].set(attributes)
            try writeMetadata(metadata, bucket: bucket, key: key, at: metaPath, replacing: true)
        }
    }

    /// Removes one version; the object's folder goes when its last version does.
    public func deleteVersion(bucket: String, key: String, versionID: String) throws(StorageError) {
        let objectDir = try objectPath(bucket: bucket, key: key)
        try locked(bucket, key) { () throws(StorageError) in
            let metaPath = objectDir + "/" + ObjectKey.metadataFile
            guard var metadata = try currentMetadata(bucket: bucket, key: key, at: metaPath) else {
                throw .objectNotFound(bucket: bucket, key: key)
            }
            guard let gone = metadata.versions.first(where: { $0.versionID == versionID }) else {
                throw .versionNotFound(bucket: bucket, key: key, versionID: versionID)
            }
            metadata.versions.removeAll { $0.versionID == versionID }
            // A delete settles the version's history: nothing is to be restored under it any more.
            let dropped = [gone] + (metadata.replaced.map { [$0.version] } ?? [])
            metadata.replaced = nil
            try rewrite(metadata, dropping: dropped, in: objectDir, bucket: bucket, key: key)
        }
    }

    /// Puts `metadata` in place (or removes the object when no version is left), then removes the data
    /// of the versions it dropped and, for a removed object, its emptied folders.
    func rewrite(
        _ metadata: ObjectMetadata, dropping: [ObjectVersion], in objectDir: String, bucket: String, key: String
    ) throws(StorageError) {
        let metaPath = objectDir + "/" + ObjectKey.metadataFile
        if metadata.versions.isEmpty {
            guard spares.keepFile(metaPath) || unlink(metaPath) == 0 else {
                throw FileOps.fail(metaPath, "unlink")
            }
            metadataCache.remove(bucket: bucket, key: key)
            FileOps.syncDirectory(objectDir)
        } else {
            try writeMetadata(metadata, bucket: bucket, key: key, at: metaPath, replacing: true)
        }
        removeData(of: dropping, unlessUsedBy: metadata, in: objectDir)
        if metadata.versions.isEmpty { pruneEmptyFolders(from: objectDir, bucket: bucket) }
    }

    /// The shard file of (a part of) a version held by this node.
    public func shardPath(bucket: String, key: String, dataDir: String, part: Int = 1) throws(StorageError) -> String {
        try validUploadID(dataDir)
        guard (1...MultipartLimits.partNumberMax).contains(part) else {
            throw .invalidObjectName(reason: "bad part number")
        }
        return try objectPath(bucket: bucket, key: key) + "/" + ObjectKey.dataDirPrefix + dataDir + "/part.\(part)"
    }

    /// Puts the object's new metadata in place (staged, synced, renamed over the old file, if
    /// `replacing` one) and in the cache. The caller holds the object's stripe lock.
    func writeMetadata(
        _ metadata: ObjectMetadata, bucket: String, key: String, at path: String, replacing: Bool
    ) throws(StorageError) {
        let bytes = MetadataFile.encode(metadata)
        let staged = tmp + "/meta-" + Crypto.randomBytes(8).hexString
        try checkRoom(path)
        _ = spares.takeFile(at: staged)
        try FileOps.writeSynced(staged, bytes)
        try crashPoint?(.metadataStaged)
        // The file replaced stays a spare: no inode is freed.
        if replacing { spares.keepLink(path) }
        do {
            try folderLock.withLock { _ throws(StorageError) in try FileOps.rename(staged, path) }
        } catch {
            unlink(staged)
            throw error
        }
        metadataCache.put(bucket: bucket, key: key, metadata, encodedBytes: bytes.count)
        try crashPoint?(.metadataRenamed)
        FileOps.syncDirectory(FileOps.parent(of: path))
    }

    func writeJSON<T: Encodable>(_ value: T, to path: String) throws(StorageError) {
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(value))
        } catch {
            throw .corrupt(path: path, reason: "cannot encode: \(error)")
        }
        let staged = tmp + "/json-" + Crypto.randomBytes(8).hexString
        try checkRoom(path)
        try FileOps.writeSynced(staged, bytes)
        try FileOps.rename(staged, path)
        FileOps.syncDirectory(FileOps.parent(of: path))
    }

    /// Makes the folder `path` and its missing parents, from spare folders while there are some.
    /// Returns the folders it made, outermost first.
    @discardableResult
    func makeFolders(_ path: String) throws(StorageError) -> [String] {
        if FileOps.isDirectory(path) { return [] }
        return try folderLock.withLock { _ throws(StorageError) in try makeMissingFolders(path) }
    }

    private func makeMissingFolders(_ path: String) throws(StorageError) -> [String] {
        if FileOps.isDirectory(path) { return [] }
        let parent = FileOps.parent(of: path)
        let made = parent.isEmpty ? [] : try makeMissingFolders(parent)
        if spares.takeFolder(at: path) { return made + [path] }
        if mkdir(path, 0o755) == 0 { return made + [path] }
        guard errno == EEXIST else { throw FileOps.fail(path, "mkdir") }
        return made
    }

    /// Deletes a file or a whole tree that no other thread writes into (a staging or data folder, a
    /// deleted bucket), keeping its folders as spares while they are wanted; missing is fine. Its files
    /// are deleted: a reader or a writer may still have one open (a GET streaming a shard, a write
    /// being aborted), and must keep its own bytes. Returns whether it is gone.
    @discardableResult
    func removeTree(_ path: String) -> Bool {
        var s = stat()
        guard lstat(path, &s) == 0 else { return true }
        guard (s.st_mode & S_IFMT) == S_IFDIR else { return unlink(path) == 0 }
        var emptied = true
        for name in (try? FileOps.entries(path)) ?? [] where !removeTree(path + "/" + name) { emptied = false }
        return (emptied && spares.keepEmptiedFolder(path)) || rmdir(path) == 0
    }

    /// Removes folders left empty by a delete, up to (not including) the bucket folder.
    /// Removes folders left empty by a delete, up to (not including) the bucket folder; they are kept as
    /// spares while spares are wanted.
    func pruneEmptyFolders(from path: String, bucket: String) {
        let stop = bucketPath(bucket)
        folderLock.withLock { _ in
            var current = path
            while current.count > stop.count, current.hasPrefix(stop + "/") {
                let kept = spares.isEnabled && FileOps.isEmptyFolder(current) && spares.keepEmptiedFolder(current)
                guard kept || rmdir(current) == 0 else { return }
                current = String(current[..<current.lastIndex(of: "/")!])
            }
        }
    }

    private func locked<T>(
        _ bucket: String, _ key: String, _ body: () throws(StorageError) -> T
    ) throws(StorageError) -> T {
        var hasher = Hasher()
        hasher.combine(bucket)
        hasher.combine(key)
        let lock = locks[Int(UInt(bitPattern: hasher.finalize()) % UInt(locks.count))]
        return try lock.mutex.withLock { _ throws(StorageError) in try body() }
    }
}

extension Disk {
    /// Runs `body` holding every object lock: no commit is in flight meanwhile.
    func withEveryLock(_ body: () -> Void, from stripe: Int = 0) {
        guard stripe < locks.count else { return body() }
        locks[stripe].mutex.withLock { _ in withEveryLock(body, from: stripe + 1) }
    }
}

/// A mutex in a box (a `Mutex` cannot be copied into an array).
final class StripeLock: Sendable {
    let mutex = Mutex(())
}
