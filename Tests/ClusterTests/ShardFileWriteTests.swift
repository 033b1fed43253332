import Core
import Storage
import Testing

@testable import Cluster

#if canImport(Glibc)
import Glibc
#endif

@Suite("a whole shard file written at once")
struct ShardFileWriteTests {
    func contents(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }

    @Test(
        "the file holds exactly the shard, from an aligned buffer (padded in place, then restored) or a copy",
        arguments: [1, 4095, 4096, 4097, 300_000], [true, false])
    func exact(size: Int, aligned: Bool) throws {
        // On /tmp (a file system with direct I/O here; the copy path is the same code without it).
        let folder = try #require(TemporaryFolder.make(prefix: "dc-shard-write", environment: [:]))
        defer {
            unlink(folder + "/part.1")
            rmdir(folder)
        }
        var g = SeededGenerator(seed: UInt64(size))
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &g) }
        let shard = aligned ? LocalShardWriter.shardBuffer(for: size) : ByteBuffer(capacity: size)
        _ = bytes.withUnsafeBytes { shard.append($0) }
        let path = folder + "/part.1"
        try LocalShardWriter.writeWhole(path, shard)
        #expect(contents(path) == bytes)
        #expect(shard.count == size && shard.array == bytes, "the caller's buffer is as it was")
    }
}
