import Core

/// How an object is cut and coded: streams are cut into `blockSize` erasure blocks; each block is split
/// into k data shards of `shardSize(block)` bytes (the last zero-padded) plus m parity shards. On disk a
/// node's shard file is its shard of every block in turn, each preceded by its 8-byte CRC-64 checksum (a
/// "frame"), so any block can be found, read and verified on its own.
public struct ErasureGeometry: Codable, Equatable, Hashable, Sendable {
    public static let defaultBlockSize = 1 << 20

    public var dataShards: Int
    public var parityShards: Int
    public var blockSize: Int

    public init(dataShards: Int, parityShards: Int, blockSize: Int = ErasureGeometry.defaultBlockSize) {
        precondition(dataShards >= 1 && parityShards >= 0 && blockSize >= dataShards, "invalid erasure geometry")
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.blockSize = blockSize
    }

    public var totalShards: Int { dataShards + parityShards }

    /// Bytes of each shard of a block holding `blockBytes` of data.
    public func shardSize(blockBytes: Int) -> Int {
        (blockBytes + dataShards - 1) / dataShards
    }

    public func blockCount(objectSize: Int64) -> Int {
        Int((objectSize + Int64(blockSize) - 1) / Int64(blockSize))
    }

    /// Data bytes in block `index` of an object of `objectSize`.
    public func blockBytes(index: Int, objectSize: Int64) -> Int {
        let start = Int64(index) * Int64(blockSize)
        return Int(min(Int64(blockSize), max(0, objectSize - start)))
    }

    /// Frame bytes (checksum + shard) of block `index`.
    public func frameBytes(index: Int, objectSize: Int64) -> Int {
        BlockHash.bytes + shardSize(blockBytes: blockBytes(index: index, objectSize: objectSize))
    }

    /// Where block `index`'s frame starts in a shard file (every block before it is full).
    public func frameOffset(index: Int) -> Int64 {
        Int64(index) * Int64(BlockHash.bytes + shardSize(blockBytes: blockSize))
    }

    /// The size of one node's shard file for an object of `objectSize`.
    public func shardFileBytes(objectSize: Int64) -> Int64 {
        let blocks = blockCount(objectSize: objectSize)
        guard blocks > 0 else { return 0 }
        return frameOffset(index: blocks - 1) + Int64(frameBytes(index: blocks - 1, objectSize: objectSize))
    }

    /// The blocks that hold bytes `offset ..< offset + length`.
    public func blocks(covering offset: Int64, length: Int64) -> ClosedRange<Int>? {
        guard length > 0 else { return nil }
        return Int(offset / Int64(blockSize))...Int((offset + length - 1) / Int64(blockSize))
    }
}
