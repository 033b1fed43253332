import Core
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// S3's limits on multipart uploads.
public enum MultipartLimits {
    /// Part numbers run from 1 to this.
    public static let partNumberMax = 10_000
    /// Every part but the last must be at least this large (EntityTooSmall otherwise).
    public static let partBytesMin: Int64 = 5 << 20
    /// A part is at most this large.
    public static let partBytesMax: Int64 = 5 << 30
}

/// Multipart uploads in progress on this node:
///
/// ```
/// .dc/multipart/<uploadId>/upload.json    the upload (object attributes, geometry, placement)
/// .dc/multipart/<uploadId>/part.<N>       this node's shard file of part N
/// .dc/multipart/<uploadId>/part.<N>.json  part N's size, ETag and checksums
/// ```
///
/// Completing an upload renames its folder into the object's folder as the new version's data folder
/// (`Disk.commit` with `multipartUploadID`). Every method blocks, like the rest of `Disk`.
extension Disk {
    var uploadsDir: String { root + "/.dc/multipart" }
    func uploadPath(_ id: String) -> String { uploadsDir + "/" + id }
    static let uploadFile = "upload.json"

    public func createUpload(_ upload: MultipartUpload) throws(StorageError) {
        try validUploadID(upload.uploadID)
        _ = try bucketInfo(upload.bucket)
        _ = try objectPath(bucket: upload.bucket, key: upload.key)
        let dir = uploadPath(upload.uploadID)
        try makeFolders(dir)
        try writeJSON(upload, to: dir + "/" + Disk.uploadFile)
    }

    public func uploadState(_ id: String) throws(StorageError) -> UploadState {
        try validUploadID(id)
        let dir = uploadPath(id)
        guard FileOps.exists(dir + "/" + Disk.uploadFile) else { throw .uploadNotFound(id) }
        let upload = try readJSON(MultipartUpload.self, from: dir + "/" + Disk.uploadFile)
        var parts: [PartInfo] = []
        for name in try FileOps.entries(dir) where name.hasPrefix("part.") && name.hasSuffix(".json") {
            // A part record is written after its file, so a listed part always has its data.
            if let part = try? readJSON(PartInfo.self, from: dir + "/" + name) { parts.append(part) }
        }
        return UploadState(upload: upload, parts: parts.sorted { $0.number < $1.number })
    }

    /// Moves a staged shard file in as part `part.number` (replacing an earlier upload of that number),
    /// then records the part.
    public func commitPart(uploadID: String, part: PartInfo, stagedUploadID: String) throws(StorageError) {
        try validUploadID(uploadID)
        try validUploadID(stagedUploadID)
        let dir = uploadPath(uploadID)
        guard FileOps.exists(dir + "/" + Disk.uploadFile) else { throw .uploadNotFound(uploadID) }
        guard FileOps.exists(stagedShardPath(uploadID: stagedUploadID)) else { throw .stagedNotFound(stagedUploadID) }
        try FileOps.rename(stagedShardPath(uploadID: stagedUploadID), dir + "/part.\(part.number)")
        removeTree(tmp + "/" + stagedUploadID)
        try writeJSON(part, to: dir + "/part.\(part.number).json")
    }

    public func abortUpload(_ id: String) throws(StorageError) {
        try validUploadID(id)
        let dir = uploadPath(id)
        guard FileOps.exists(dir) else { throw .uploadNotFound(id) }
        let trash = tmp + "/aborted-" + id
        try FileOps.rename(dir, trash)
        removeTree(trash)
    }

    /// The uploads in progress into `bucket`, oldest first.
    public func listUploads(bucket: String) throws(StorageError) -> [MultipartUpload] {
        _ = try bucketInfo(bucket)
        var out: [MultipartUpload] = []
        for id in (try? FileOps.entries(uploadsDir)) ?? [] {
            guard let upload = try? readJSON(MultipartUpload.self, from: uploadPath(id) + "/" + Disk.uploadFile),
                upload.bucket == bucket
            else { continue }
            out.append(upload)
        }
        return out.sorted { ($0.key, $0.initiated, $0.uploadID) < ($1.key, $1.initiated, $1.uploadID) }
    }

    /// Readies an upload's folder to become a version's data folder: only the shard files of `parts`
    /// stay. Called by `commit` under the object's lock.
    func prepareCompletion(uploadID: String, parts: [PartInfo]) throws(StorageError) -> String {
        try validUploadID(uploadID)
        let dir = uploadPath(uploadID)
        guard FileOps.exists(dir + "/" + Disk.uploadFile) else { throw .uploadNotFound(uploadID) }
        let keep = Set(parts.map { "part.\($0.number)" })
        for name in keep where !FileOps.exists(dir + "/" + name) { throw .stagedNotFound("\(uploadID)/\(name)") }
        for name in try FileOps.entries(dir) where !keep.contains(name) { removeTree(dir + "/" + name) }
        return dir
    }

    func readJSON<T: Decodable>(_ type: T.Type, from path: String) throws(StorageError) -> T {
        let bytes = try FileOps.read(path)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw .corrupt(path: path, reason: "\(error)")
        }
    }
}
