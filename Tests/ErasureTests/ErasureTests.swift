import Core
import Testing

@testable import Erasure

/// Every subset of `0..<n` with at most `maxSize` members.
func subsets(of n: Int, maxSize: Int) -> [[Int]] {
    (0..<(1 << n)).map { mask in (0..<n).filter { mask & (1 << $0) != 0 } }.filter { $0.count <= maxSize }
}

func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
}

@Suite("erasure codec")
struct ErasureCodecTests {
    @Test(
        "every loss pattern of up to m shards decodes to the original block",
        arguments: [(1, 0), (1, 1), (2, 1), (2, 2), (3, 1), (3, 3), (4, 2), (4, 4), (5, 3), (6, 2)])
    func everyLossPattern(k: Int, m: Int) throws {
        let coder = try BlockCoder(geometry: ErasureGeometry(dataShards: k, parityShards: m, blockSize: 4096))
        for size in [1, 7, 4096, 4095] {
            let data = randomBytes(size, seed: UInt64(k * 100 + m * 10 + size))
            let frames = data.withUnsafeBytes { coder.encode(block: $0) }
            #expect(frames.count == k + m)
            for lost in subsets(of: k + m, maxSize: m) {
                let available: [ByteBuffer?] = frames.enumerated().map { lost.contains($0.offset) ? nil : $0.element }
                let decoded = try coder.decode(frames: available, blockBytes: size)
                #expect(decoded.block.array == data, "k=\(k) m=\(m) size=\(size) lost=\(lost)")
                #expect(decoded.rebuilt == lost.filter { $0 < k })
            }
        }
    }

    @Test(
        "large geometries decode from sampled loss patterns, including the ones a Vandermonde matrix cannot",
        arguments: [(8, 8), (10, 6), (6, 6), (12, 4), (14, 2), (9, 7), (11, 5)])
    func sampledLossPatterns(k: Int, m: Int) throws {
        let coder = try BlockCoder(geometry: ErasureGeometry(dataShards: k, parityShards: m, blockSize: 1 << 16))
        let data = randomBytes(1 << 16, seed: UInt64(k * m))
        let frames = data.withUnsafeBytes { coder.encode(block: $0) }
        var g = SeededGenerator(seed: UInt64(k << 8 | m))
        for _ in 0..<200 {
            let lost = Array((0..<(k + m)).shuffled(using: &g).prefix(Int.random(in: 1...m, using: &g)))
            let available: [ByteBuffer?] = frames.enumerated().map { lost.contains($0.offset) ? nil : $0.element }
            #expect(
                try coder.decode(frames: available, blockBytes: data.count).block.array == data,
                "k=\(k) m=\(m) lost=\(lost.sorted())")
        }
    }

    @Test("more than m missing shards is a clear failure, not wrong bytes")
    func tooMany() throws {
        let coder = try BlockCoder(geometry: ErasureGeometry(dataShards: 2, parityShards: 2, blockSize: 1024))
        let frames = randomBytes(1000, seed: 1).withUnsafeBytes { coder.encode(block: $0) }
        #expect(throws: BlockCoder.DecodeFailure.tooFewGoodShards(good: 1, needed: 2, corrupt: [])) {
            try coder.decode(frames: [frames[0], nil, nil, nil], blockBytes: 1000)
        }
    }

    @Test("a flipped bit in any shard is detected, and the block is rebuilt from the others")
    func bitrot() throws {
        let coder = try BlockCoder(geometry: ErasureGeometry(dataShards: 4, parityShards: 2, blockSize: 1 << 20))
        let data = randomBytes(1 << 20, seed: 9)
        for victim in 0..<6 {
            let frames = data.withUnsafeBytes { coder.encode(block: $0) }
            let p = frames[victim].pointer.assumingMemoryBound(to: UInt8.self)
            p[BlockHash.bytes + 12345 % (frames[victim].count - BlockHash.bytes)] ^= 0x10
            #expect(!BlockCoder.verify(frames[victim].bytes))
            let decoded = try coder.decode(frames: frames, blockBytes: data.count)
            #expect(decoded.block.array == data)
            #expect(decoded.corrupt == [victim])
        }
    }

    @Test("two corrupt shards plus one missing, with parity 2, fails instead of returning bad bytes")
    func corruptBeyondParity() throws {
        let coder = try BlockCoder(geometry: ErasureGeometry(dataShards: 2, parityShards: 2, blockSize: 4096))
        let frames = randomBytes(4096, seed: 3).withUnsafeBytes { coder.encode(block: $0) }
        for i in [0, 3] { frames[i].pointer.assumingMemoryBound(to: UInt8.self)[BlockHash.bytes] ^= 1 }
        #expect(throws: BlockCoder.DecodeFailure.self) {
            try coder.decode(frames: [frames[0], nil, frames[2], frames[3]], blockBytes: 4096)
        }
    }

    @Test("rebuilt frames for a lost node are byte-identical to the originals")
    func rebuildFrames() throws {
        let coder = try BlockCoder(geometry: ErasureGeometry(dataShards: 3, parityShards: 2, blockSize: 3000))
        let frames = randomBytes(2999, seed: 5).withUnsafeBytes { coder.encode(block: $0) }
        let rebuilt = try coder.rebuildFrames(
            frames: [nil, frames[1], frames[2], nil, frames[4]], blockBytes: 2999, targets: [0, 3])
        #expect(rebuilt[0]?.array == frames[0].array)
        #expect(rebuilt[3]?.array == frames[3].array)
    }

    @Test("geometries outside the codec's range are refused")
    func badGeometry() {
        #expect(throws: ErasureCodec.Failure.self) { try ErasureCodec(dataShards: 0, parityShards: 2) }
        #expect(throws: ErasureCodec.Failure.self) { try ErasureCodec(dataShards: 20, parityShards: 20) }
    }
}

@Suite("erasure geometry")
struct ErasureGeometryTests {
    let g = ErasureGeometry(dataShards: 3, parityShards: 2, blockSize: 1 << 20)

    @Test("shard sizes, block counts and shard file sizes add up")
    func sizes() {
        #expect(g.shardSize(blockBytes: 1 << 20) == 349_526)
        #expect(g.blockCount(objectSize: 0) == 0)
        #expect(g.blockCount(objectSize: 1) == 1)
        #expect(g.blockCount(objectSize: 1 << 20) == 1)
        #expect(g.blockCount(objectSize: (1 << 20) + 1) == 2)
        #expect(g.blockBytes(index: 1, objectSize: (1 << 20) + 1) == 1)
        #expect(g.shardFileBytes(objectSize: (1 << 20) + 1) == Int64(8 + 349_526 + 8 + 1))
        #expect(g.frameOffset(index: 2) == Int64(2 * (8 + 349_526)))
        #expect(g.shardFileBytes(objectSize: 0) == 0)
    }

    @Test("ranges map to the blocks that hold them")
    func ranges() {
        #expect(g.blocks(covering: 0, length: 1) == 0...0)
        #expect(g.blocks(covering: (1 << 20) - 1, length: 2) == 0...1)
        #expect(g.blocks(covering: 5 << 20, length: 1 << 20) == 5...5)
        #expect(g.blocks(covering: 0, length: 0) == nil)
    }
}

@Suite("S3 checksums")
struct ChecksumTests {
    let check = Array("123456789".utf8)

    @Test("each algorithm matches its published check value")
    func vectors() {
        #expect(RunningChecksum.compute(.crc32, check).hexString == "cbf43926")
        #expect(RunningChecksum.compute(.crc32c, check).hexString == "e3069283")
        #expect(RunningChecksum.compute(.crc64nvme, check).hexString == "ae8b14860a799888")
        // The block checksum is CRC-64/XZ.
        #expect(check.withUnsafeBytes { BlockHash.crc64($0) } == 0x995D_C9BB_DF19_39FA)
        #expect(RunningChecksum.compute(.sha1, check).hexString == "f7c3bc1d808e04732adf679965ccc34ca7ae3441")
        #expect(
            RunningChecksum.compute(.sha256, Array("abc".utf8)).hexString
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("incremental updates in any pieces give the one-shot value", arguments: ChecksumAlgorithm.allCases)
    func incremental(algorithm: ChecksumAlgorithm) {
        let data = randomBytes(100_003, seed: 11)
        var c = RunningChecksum(algorithm)
        var offset = 0
        var g = SeededGenerator(seed: 2)
        while offset < data.count {
            let n = min(data.count - offset, Int.random(in: 1...9000, using: &g))
            data[offset..<(offset + n)].withUnsafeBytes { c.update($0) }
            offset += n
        }
        #expect(c.finish() == RunningChecksum.compute(algorithm, data))
    }

    @Test("base64 round-trips and refuses non-canonical text")
    func base64() {
        for n in 0..<10 {
            let bytes = randomBytes(n, seed: UInt64(n))
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm8") == nil)
        #expect(Base64.decode("Z=8=") == nil)
        #expect(Base64.decode("Zm!=") == nil)
    }
}
