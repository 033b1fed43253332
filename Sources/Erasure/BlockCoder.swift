import Core

/// Encodes one erasure block into its k + m frames, and decodes a block back from any k good frames,
/// verifying every frame's checksum. Pure computation for the thread pool.
public struct BlockCoder: Sendable {
    public let codec: ErasureCodec
    public let geometry: ErasureGeometry

    public init(geometry: ErasureGeometry) throws(ErasureCodec.Failure) {
        self.geometry = geometry
        self.codec = try ErasureCodec(dataShards: geometry.dataShards, parityShards: geometry.parityShards)
    }

    /// The frames (8-byte CRC-64 little-endian, then the shard) of a block, shard 0 first.
    public func encode(block: UnsafeRawBufferPointer) -> [ByteBuffer] {
        let k = geometry.dataShards
        let shard = geometry.shardSize(blockBytes: block.count)
        let frames = (0..<geometry.totalShards).map { _ in ByteBuffer(capacity: BlockHash.bytes + shard) }
        var payloads: [UnsafeMutablePointer<UInt8>] = []
        for (i, frame) in frames.enumerated() {
            let payload = (frame.pointer + BlockHash.bytes).assumingMemoryBound(to: UInt8.self)
            if i < k {
                let start = i * shard
                let n = max(0, min(shard, block.count - start))
                if n > 0 {
                    payload.update(
                        from: block.baseAddress!.advanced(by: start).assumingMemoryBound(to: UInt8.self), count: n)
                }
                if n < shard { (payload + n).initialize(repeating: 0, count: shard - n) }
            }
            payloads.append(payload)
        }
        codec.encode(payloads, length: shard)
        for (frame, payload) in zip(frames, payloads) {
            let hash = BlockHash.crc64(UnsafeRawBufferPointer(start: payload, count: shard)).littleEndian
            withUnsafeBytes(of: hash) { frame.pointer.copyMemory(from: $0.baseAddress!, byteCount: BlockHash.bytes) }
            frame.setCount(BlockHash.bytes + shard)
        }
        return frames
    }

    /// Whether a frame's checksum matches its shard.
    public static func verify(_ frame: UnsafeRawBufferPointer) -> Bool {
        guard frame.count >= BlockHash.bytes else { return false }
        let stored = UInt64(littleEndian: frame.loadUnaligned(as: UInt64.self))
        return BlockHash.crc64(UnsafeRawBufferPointer(rebasing: frame[BlockHash.bytes...])) == stored
    }

    public struct Decoded: Sendable {
        public var block: ByteBuffer
        /// Shards whose frame was present but failed its checksum (bitrot): to be healed.
        public var corrupt: [Int]
        /// Shards that had to be rebuilt (missing or corrupt).
        public var rebuilt: [Int]
    }

    public enum DecodeFailure: Error, Equatable, CustomStringConvertible, Sendable {
        case tooFewGoodShards(good: Int, needed: Int, corrupt: [Int])

        public var description: String {
            switch self {
            case .tooFewGoodShards(let good, let needed, let corrupt):
                "only \(good) good shards, \(needed) needed" + (corrupt.isEmpty ? "" : " (corrupt: \(corrupt))")
            }
        }
    }

    /// Rebuilds a block of `blockBytes` from its frames (nil where a shard is missing). Never returns
    /// bytes that failed their checksum.
    public func decode(frames: [ByteBuffer?], blockBytes: Int) throws(DecodeFailure) -> Decoded {
        precondition(frames.count == geometry.totalShards, "decode needs a slot for every shard")
        let k = geometry.dataShards
        let shard = geometry.shardSize(blockBytes: blockBytes)
        var good = [Bool](repeating: false, count: frames.count)
        var corrupt: [Int] = []
        for (i, frame) in frames.enumerated() {
            guard let frame else { continue }
            if frame.count == BlockHash.bytes + shard && BlockCoder.verify(frame.bytes) {
                good[i] = true
            } else {
                corrupt.append(i)
            }
        }
        let goodCount = good.count { $0 }
        let block = ByteBuffer(capacity: max(blockBytes, k * shard))
        let missingData = (0..<k).filter { !good[$0] }
        if missingData.isEmpty {
            for i in 0..<k {
                let n = max(0, min(shard, blockBytes - i * shard))
                if n > 0 { block.append(UnsafeRawBufferPointer(start: frames[i]!.pointer + BlockHash.bytes, count: n)) }
            }
            return Decoded(block: block, corrupt: corrupt, rebuilt: [])
        }
        guard goodCount >= k else { throw .tooFewGoodShards(good: goodCount, needed: k, corrupt: corrupt) }
        // Data shards land directly in the block buffer; parity sources are read in place.
        var pointers: [UnsafeMutablePointer<UInt8>] = []
        var scratch: [ByteBuffer] = []
        for i in 0..<geometry.totalShards {
            if i < k {
                let target = (block.pointer + i * shard).assumingMemoryBound(to: UInt8.self)
                if good[i] {
                    target.update(
                        from: (frames[i]!.pointer + BlockHash.bytes).assumingMemoryBound(to: UInt8.self), count: shard)
                }
                pointers.append(target)
            } else if good[i] {
                pointers.append((frames[i]!.pointer + BlockHash.bytes).assumingMemoryBound(to: UInt8.self))
            } else {
                let s = ByteBuffer(capacity: shard)
                scratch.append(s)
                pointers.append(s.pointer.assumingMemoryBound(to: UInt8.self))
            }
        }
        do {
            try codec.reconstruct(pointers, good: good, targets: missingData, length: shard)
        } catch {
            throw .tooFewGoodShards(good: goodCount, needed: k, corrupt: corrupt)
        }
        block.setCount(blockBytes)
        return Decoded(block: block, corrupt: corrupt, rebuilt: missingData)
    }

    /// Rebuilds the frames of `targets` (for healing a node) from the frames of a block.
    public func rebuildFrames(
        frames: [ByteBuffer?], blockBytes: Int, targets: [Int]
    ) throws(DecodeFailure) -> [Int: ByteBuffer] {
        let decoded = try decode(frames: frames, blockBytes: blockBytes)
        let all = encode(block: decoded.block.bytes)
        return Dictionary(uniqueKeysWithValues: targets.map { ($0, all[$0]) })
    }
}
