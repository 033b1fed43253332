import Core
import Erasure
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// What reading back one node's shard of a version found.
public struct ShardCheck: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable {
        case ok
        /// A frame failed its checksum, or a file is shorter than its frames.
        case corrupt
        /// A shard file is not there.
        case missing
    }

    public var status: Status
    /// Bytes read and checked.
    public var bytes: Int64
    public var detail: String?
    /// The erasure blocks whose frame failed (numbered across parts, in the object's order; at most
    /// `badBlocksMax`), when `corrupt`: what a layout picture shows. Absent in answers of older nodes.
    public var badBlocks: [Int]?

    /// Bad blocks a check lists (a shard with more is still `corrupt`; the rest go unnamed).
    public static let badBlocksMax = 256

    public init(status: Status, bytes: Int64, detail: String? = nil, badBlocks: [Int]? = nil) {
        self.status = status
        self.bytes = bytes
        self.detail = detail
        self.badBlocks = badBlocks
    }
}

extension LocalStore {
    /// Reads this node's shard of `version` (every part's file, or the inline frames) and checks every
    /// frame against its CRC-64. Blocking work on the disk queue.
    public func checkShard(
        bucket: String, key: String, version: ObjectVersion, _ done: @escaping (Result<ShardCheck, StoreError>) -> Void
    ) {
        run(
            { disk throws(StorageError) in try LocalStore.check(disk, bucket: bucket, key: key, version: version) },
            done)
    }

    static func check(
        _ disk: Disk, bucket: String, key: String, version listed: ObjectVersion
    ) throws(StorageError)
        -> ShardCheck
    {
        // Listings leave inline frames out: the metadata file has them (read from the file itself, not the
        // cache: this is how bitrot of inline frames is found).
        let versions = try disk.readMetadataFile(bucket: bucket, key: key).versions
        guard let version = versions.first(where: { $0.sameWrite(as: listed) }) else {
            return ShardCheck(status: .missing, bytes: 0, detail: "the version is gone")
        }
        let geometry = ErasureGeometry(of: version)
        guard let dataDir = version.dataDir else {
            guard version.size > 0 else { return ShardCheck(status: .ok, bytes: 0) }
            guard let frame = version.inline,
                frame.count == geometry.frameBytes(index: 0, objectSize: version.size)
            else {
                return ShardCheck(status: .corrupt, bytes: 0, detail: "inline shard of the wrong size", badBlocks: [0])
            }
            let ok = frame.withUnsafeBytes { BlockCoder.verify($0) }
            return ShardCheck(
                status: ok ? .ok : .corrupt, bytes: Int64(frame.count), detail: ok ? nil : "inline frame 0",
                badBlocks: ok ? nil : [0])
        }
        // Every frame is read, past a bad one, so the check names each bad block.
        var bytes: Int64 = 0
        var bad: [Int] = []
        var badCount = 0
        var firstProblem: String?
        var blockBase = 0
        func fail(_ block: Int, _ problem: String) {
            firstProblem = firstProblem ?? problem
            badCount += 1
            if bad.count < ShardCheck.badBlocksMax { bad.append(block) }
        }
        for part in version.storedParts {
            let path = try disk.shardPath(bucket: bucket, key: key, dataDir: dataDir, part: part.number)
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                return ShardCheck(
                    status: .missing, bytes: bytes, detail: "part \(part.number): \(String(cString: strerror(errno)))")
            }
            defer { Glibc.close(fd) }
            let buffer = ByteBuffer(capacity: geometry.frameBytes(index: 0, objectSize: max(part.size, 1)))
            var offset: Int64 = 0
            let blocks = geometry.blockCount(objectSize: part.size)
            for block in 0..<blocks {
                let n = geometry.frameBytes(index: block, objectSize: part.size)
                buffer.removeAll()
                let got = pread(fd, buffer.pointer, n, off_t(offset))
                guard got == n else {
                    // The file ends here: this block and every one after it are lost.
                    for lost in block..<blocks {
                        fail(blockBase + lost, "part \(part.number) block \(block): short file")
                    }
                    break
                }
                buffer.setCount(n)
                if BlockCoder.verify(buffer.bytes) {
                    bytes += Int64(n)
                } else {
                    fail(blockBase + block, "part \(part.number) block \(block): checksum")
                }
                offset += Int64(n)
            }
            blockBase += blocks
        }
        guard let firstProblem else { return ShardCheck(status: .ok, bytes: bytes) }
        return ShardCheck(
            status: .corrupt, bytes: bytes,
            detail: firstProblem + (badCount > 1 ? " (\(badCount) blocks bad)" : ""), badBlocks: bad)
    }
}
