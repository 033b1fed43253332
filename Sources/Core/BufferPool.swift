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

    /// One pooled allocation: `size` usable bytes after a page of slack. It belongs to whoever took it.
    public struct Allocation: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let size: Int
        /// Where a buffer starts in it: page-aligned for direct I/O, else at one of 63 cache-line
        /// offsets within the first page, so that the frames of one block never share their address
        /// modulo 4 KiB (loads and stores that do stall each other: ISA-L's encode ran 4x slower).
        let stagger: Int

        public func start(alignment: Int) -> UnsafeMutableRawPointer {
            alignment >= BufferPool.alignment ? base : base + stagger
        }
    }

    private let free = Mutex<(lists: [Int: [Allocation]], bytes: Int, taken: Int)>(([:], 0, 0))

    /// The allocation size for a buffer of `capacity`, or nil when it is not pooled.
    static func sizeClass(_ capacity: Int) -> Int? {
        guard capacity >= sizeMin, capacity <= sizeMax else { return nil }
        var size = sizeMin
        while size < capacity { size <<= 1 }
        return size
    }

    func take(_ size: Int) -> Allocation {
        let (reused, taken) = free.withLock { state -> (Allocation?, Int) in
            state.taken &+= 1
            guard let block = state.lists[size]?.popLast() else { return (nil, state.taken) }
            state.bytes -= size
            return (block, state.taken)
        }
        let stagger = (taken % 63 + 1) * 64
        if let reused { return Allocation(base: reused.base, size: size, stagger: stagger) }
        let base = UnsafeMutableRawPointer.allocate(
            byteCount: size + BufferPool.alignment, alignment: BufferPool.alignment)
        return Allocation(base: base, size: size, stagger: stagger)
    }

    func give(_ allocation: Allocation) {
        let kept = free.withLock { state -> Bool in
            guard state.bytes + allocation.size <= BufferPool.retainedBytesMax else { return false }
            state.lists[allocation.size, default: []].append(allocation)
            state.bytes += allocation.size
            return true
        }
        if !kept { allocation.base.deallocate() }
    }

    /// Bytes waiting for reuse.
    public var retainedBytes: Int { free.withLock { $0.bytes } }
}
