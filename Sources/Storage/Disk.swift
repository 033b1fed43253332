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
///   .dc/buckets/<name>.json  bucket records
///   <bucket>/<key segments>/%meta               object metadata: the commit point
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

    public init(root: String) throws(StorageError) {
        self.root = root
        tmp = root + "/.dc/tmp"
        bucketsDir = root + "/.dc/buckets"
        try FileOps.makeDirectories(tmp)
        try FileOps.makeDirectories(bucketsDir)
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
        for name in names { FileOps.removeTree(tmp + "/" + name) }
        return names.count
    }

    // MARK: Buckets

    func bucketRecord(_ name: String) -> String { bucketsDir + "/" + name + ".json" }
    func bucketPath(_ name: String) -> String { root + "/" + name }

    public func makeBucket(_ name: String, created: Int64) throws(StorageError) {
        try BucketName.validate(name)
        try locked(name, "") { () throws(StorageError) in
            guard !FileOps.exists(bucketRecord(name)) else { throw .bucketExists(name) }
            try FileOps.makeDirectories(bucketPath(name))
            try writeJSON(BucketInfo(name: name, created: created), to: bucketRecord(name))
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

    public func listBuckets() throws(StorageError) -> [BucketInfo] {
        var out: [BucketInfo] = []
        for file in try FileOps.entries(bucketsDir) where file.hasSuffix(".json") {
            if let info = try? bucketInfo(String(file.dropLast(5))) { out.append(info) }
        }
        return out.sorted { $0.name < $1.name }
    }

    /// Deletes an empty bucket (`force` deletes its objects too: used to undo a failed create).
    public func deleteBucket(_ name: String, force: Bool = false) throws(StorageError) {
        _ = try bucketInfo(name)
        try locked(name, "") { () throws(StorageError) in
            if !force {
                let page = try list(bucket: name, prefix: "", marker: "", delimiter: nil, limit: 1)
                guard page.entries.isEmpty else { throw .bucketNotEmpty(name) }
            }
            unlink(bucketRecord(name))
            FileOps.syncDirectory(bucketsDir)
            let trash = tmp + "/deleted-bucket-" + Crypto.randomBytes(8).hexString
            if Glibc.rename(bucketPath(name), trash) == 0 { FileOps.removeTree(trash) }
        }
    }

    // MARK: Objects

    /// The folder of an object.
    public func objectPath(bucket: String, key: String) throws(StorageError) -> String {
        try bucketPath(bucket) + "/" + ObjectKey.segments(key).joined(separator: "/")
    }

    public func readMetadata(bucket: String, key: String) throws(StorageError) -> ObjectMetadata {
        let path = try objectPath(bucket: bucket, key: key) + "/" + ObjectKey.metadataFile
        guard FileOps.exists(path) else {
            guard FileOps.exists(bucketRecord(bucket)) else { throw .bucketNotFound(bucket) }
            throw .objectNotFound(bucket: bucket, key: key)
        }
        return try decodeMetadata(path)
    }

    func decodeMetadata(_ path: String) throws(StorageError) -> ObjectMetadata {
        let bytes = try FileOps.read(path)
        do {
            return try JSONDecoder().decode(ObjectMetadata.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: path, reason: "\(error)")
        }
    }

    /// Where a staged shard file is written before its commit.
    public func stagedShardPath(uploadID: String) -> String { tmp + "/" + uploadID + "/part.1" }

    /// Prepares a staging folder for an upload's shard file.
    public func beginStaging(uploadID: String) throws(StorageError) -> String {
        try validUploadID(uploadID)
        try FileOps.makeDirectories(tmp + "/" + uploadID)
        return stagedShardPath(uploadID: uploadID)
    }

    public func abortStaging(uploadID: String) {
        guard (try? validUploadID(uploadID)) != nil else { return }
        FileOps.removeTree(tmp + "/" + uploadID)
    }

    func validUploadID(_ id: String) throws(StorageError) {
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw .invalidObjectName(reason: "bad upload id")
        }
    }

    /// Commits `version`: moves its staged data (if any) into the object's folder, then writes the new
    /// metadata and renames it into place, the moment the write becomes visible. A version with the same
    /// id (the `null` version of an unversioned bucket) is replaced and its data removed.
    public func commit(
        bucket: String, key: String, version: ObjectVersion, stagedUploadID: String?
    ) throws(StorageError) {
        let objectDir = try objectPath(bucket: bucket, key: key)
        guard FileOps.exists(bucketRecord(bucket)) else { throw .bucketNotFound(bucket) }
        try locked(bucket, key) { () throws(StorageError) in
            try FileOps.makeDirectories(objectDir)
            if let staged = stagedUploadID {
                try validUploadID(staged)
                guard let dataDir = version.dataDir else { throw .stagedNotFound(staged) }
                guard FileOps.exists(stagedShardPath(uploadID: staged)) else { throw .stagedNotFound(staged) }
                try FileOps.rename(tmp + "/" + staged, objectDir + "/" + ObjectKey.dataDirPrefix + dataDir)
            }
            let metaPath = objectDir + "/" + ObjectKey.metadataFile
            var metadata = FileOps.exists(metaPath) ? try decodeMetadata(metaPath) : ObjectMetadata()
            let replaced = metadata.versions.filter { $0.versionID == version.versionID }
            metadata.versions.removeAll { $0.versionID == version.versionID }
            metadata.versions.insert(version, at: 0)
            metadata.versions.sort { $0.modTime > $1.modTime }
            try writeMetadata(metadata, at: metaPath)
            for old in replaced where old.dataDir != nil && old.dataDir != version.dataDir {
                FileOps.removeTree(objectDir + "/" + ObjectKey.dataDirPrefix + old.dataDir!)
            }
        }
    }

    /// Removes one version; the object's folder goes when its last version does.
    public func deleteVersion(bucket: String, key: String, versionID: String) throws(StorageError) {
        let objectDir = try objectPath(bucket: bucket, key: key)
        try locked(bucket, key) { () throws(StorageError) in
            let metaPath = objectDir + "/" + ObjectKey.metadataFile
            guard FileOps.exists(metaPath) else { throw .objectNotFound(bucket: bucket, key: key) }
            var metadata = try decodeMetadata(metaPath)
            guard let gone = metadata.versions.first(where: { $0.versionID == versionID }) else {
                throw .versionNotFound(bucket: bucket, key: key, versionID: versionID)
            }
            metadata.versions.removeAll { $0.versionID == versionID }
            if metadata.versions.isEmpty {
                guard unlink(metaPath) == 0 else { throw FileOps.fail(metaPath, "unlink") }
                FileOps.syncDirectory(objectDir)
            } else {
                try writeMetadata(metadata, at: metaPath)
            }
            if let dataDir = gone.dataDir { FileOps.removeTree(objectDir + "/" + ObjectKey.dataDirPrefix + dataDir) }
            pruneEmptyFolders(from: objectDir, bucket: bucket)
        }
    }

    /// The shard file of a version held by this node.
    public func shardPath(bucket: String, key: String, dataDir: String) throws(StorageError) -> String {
        try validUploadID(dataDir)
        return try objectPath(bucket: bucket, key: key) + "/" + ObjectKey.dataDirPrefix + dataDir + "/part.1"
    }

    func writeMetadata(_ metadata: ObjectMetadata, at path: String) throws(StorageError) {
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(metadata))
        } catch {
            throw .corrupt(path: path, reason: "cannot encode metadata: \(error)")
        }
        let staged = tmp + "/meta-" + Crypto.randomBytes(8).hexString
        try FileOps.writeSynced(staged, bytes)
        do {
            try FileOps.rename(staged, path)
        } catch {
            unlink(staged)
            throw error
        }
        FileOps.syncDirectory(String(path[..<path.lastIndex(of: "/")!]))
    }

    func writeJSON<T: Encodable>(_ value: T, to path: String) throws(StorageError) {
        let bytes: [UInt8]
        do {
            bytes = Array(try JSONEncoder().encode(value))
        } catch {
            throw .corrupt(path: path, reason: "cannot encode: \(error)")
        }
        let staged = tmp + "/json-" + Crypto.randomBytes(8).hexString
        try FileOps.writeSynced(staged, bytes)
        try FileOps.rename(staged, path)
        FileOps.syncDirectory(String(path[..<path.lastIndex(of: "/")!]))
    }

    /// Removes folders left empty by a delete, up to (not including) the bucket folder.
    func pruneEmptyFolders(from path: String, bucket: String) {
        let stop = bucketPath(bucket)
        var current = path
        while current.count > stop.count, current.hasPrefix(stop + "/") {
            guard rmdir(current) == 0 else { return }
            current = String(current[..<current.lastIndex(of: "/")!])
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

/// A mutex in a box (a `Mutex` cannot be copied into an array).
final class StripeLock: Sendable {
    let mutex = Mutex(())
}
