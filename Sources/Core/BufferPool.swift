import Synchronization

/// Recycles the memory of large `ByteBuffer`s (blocks, frames, staging buffers), so a node moving
/// GiBs neither faults fresh pages for every block nor leaves freed blocks stranded in the
/// allocator. Sizes are rounded up to a power of two from `sizeMin`; at most `retainedBytesMax` wait
/// here for reuse, the rest goes back to the system (the allocator maps such sizes, see
/// `Loop.Process.limitAllocatorRetention`). Thread-safe: buffers are made and dropped on the loop and
/// on pool threads alike.
public final class BufferPool: Sendable {
    public static let shared = BufferPool()
    /// Smaller buffers come straight from the allocator.
    public static let sizeMin = 64 << 10
    public static let sizeMax = 64 << 20
    public static let retainedBytesMax = 32 << 20
    /// Pooled memory is page-aligned (enough for direct I/O and for ISA-L).
    public static let alignment = 4096

    /// A free allocation; it belongs to whoever takes it out of the pool.
    struct Block: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    private let free = Mutex<(lists: [Int: [Block]], bytes: Int)>(([:], 0))

    /// The allocation size for a buffer of `capacity`, or nil when it is not pooled.
    static func sizeClass(_ capacity: Int) -> Int? {
        guard capacity >= sizeMin, capacity <= sizeMax else { return nil }
        var size = sizeMin
        while size < capacity { size <<= 1 }
        return size
    }

    func take(_ size: Int) -> UnsafeMutableRawPointer {
        let reused = free.withLock { state -> Block? in
            guard let block = state.lists[size]?.popLast() else { return nil }
            state.bytes -= size
            return block
        }
        return reused?.pointer ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: BufferPool.alignment)
    }

    func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        let block = Block(pointer: pointer)
        let kept = free.withLock { state -> Bool in
            guard state.bytes + size <= BufferPool.retainedBytesMax else { return false }
            state.lists[size, default: []].append(block)
            state.bytes += size
            return true
        }
        if !kept { pointer.deallocate() }
    }

    /// Bytes waiting for reuse.
    public var retainedBytes: Int { free.withLock { $0.bytes } }
}
