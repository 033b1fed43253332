import Erasure
import Storage
import Testing

@testable import Cluster

#if canImport(Glibc)
import Glibc
#endif

@Suite("shard check")
struct ShardCheckTests {
    @Test("a check names every bad block of a shard, past the first, and every block a short file lost")
    func badBlocks() throws {
        let c = try TestCluster(nodes: 4)
        defer { c.close() }
        _ = c.call { c.layer.makeBucket("b1b", $0) }
        let version = try c.put("b1b", "rot", pattern(3 << 20, seed: 6)).get()
        let copy = try #require(try c.disks[0].readMetadataFile(bucket: "b1b", key: "rot").versions.first)
        let geometry = ErasureGeometry(of: copy)
        #expect(geometry.blockCount(objectSize: copy.size) == 3)
        let path = try c.disks[0].shardPath(bucket: "b1b", key: "rot", dataDir: version.dataDir!)
        func frameStart(_ block: Int) -> Int64 {
            (0..<block).reduce(0) { $0 + Int64(geometry.frameBytes(index: $1, objectSize: copy.size)) }
        }
        #expect(try LocalStore.check(c.disks[0], bucket: "b1b", key: "rot", version: copy).status == .ok)

        let fd = open(path, O_RDWR)
        defer { close(fd) }
        for block in [0, 2] {
            var byte: UInt8 = 0
            pread(fd, &byte, 1, off_t(frameStart(block) + 100))
            byte ^= 0xFF
            pwrite(fd, &byte, 1, off_t(frameStart(block) + 100))
        }
        let corrupt = try LocalStore.check(c.disks[0], bucket: "b1b", key: "rot", version: copy)
        #expect(corrupt.status == .corrupt && corrupt.badBlocks == [0, 2])
        #expect(corrupt.detail == "part 1 block 0: checksum (2 blocks bad)")
        // Only block 1 passed its checksum.
        #expect(corrupt.bytes == Int64(geometry.frameBytes(index: 1, objectSize: copy.size)))

        // A file cut inside block 1 has lost blocks 1 and 2 (and block 0 is still bad).
        ftruncate(fd, off_t(frameStart(1) + 10))
        let short = try LocalStore.check(c.disks[0], bucket: "b1b", key: "rot", version: copy)
        #expect(short.status == .corrupt && short.badBlocks == [0, 1, 2])
        #expect(short.detail == "part 1 block 0: checksum (3 blocks bad)")
    }
}
