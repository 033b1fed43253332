/// Bytes in memory the buffer owns, at a stable, aligned address (64 bytes by default; 4096 for direct
/// I/O): what libuv writes from, the thread pool hashes and erasure-codes, and what survives until a
/// write callback runs.
///
/// Ownership: one owner at a time. A buffer may be handed to a thread-pool job and back (hence
/// `@unchecked Sendable`), but never read on one thread while another writes it.
public final class ByteBuffer: @unchecked Sendable {
    public let capacity: Int
    public private(set) var count: Int = 0
    public let pointer: UnsafeMutableRawPointer
    /// The pooled allocation behind `pointer` (nil: allocated for this buffer alone).
    private let pooled: BufferPool.Allocation?

    public init(capacity: Int, alignment: Int = 64) {
        precondition(capacity >= 0, "negative ByteBuffer capacity")
        precondition(alignment <= BufferPool.alignment, "ByteBuffer alignment \(alignment) above a page")
        self.capacity = capacity
        pooled = BufferPool.sizeClass(capacity).map { BufferPool.shared.take($0) }
        if let pooled {
            pointer = pooled.start(alignment: alignment)
        } else {
            pointer = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1), alignment: alignment)
        }
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count)
        append(bytes)
    }

    public convenience init(_ bytes: [UInt8]) {
        self.init(capacity: bytes.count)
        _ = bytes.withUnsafeBytes { append($0) }
    }

    deinit {
        if let pooled { BufferPool.shared.give(pooled) } else { pointer.deallocate() }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
    public var remainingCapacity: Int { capacity - count }
    public var isFull: Bool { count == capacity }

    /// Appends as much of `bytes` as fits and returns how many bytes were taken.
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let n = min(bytes.count, capacity - count)
        if n > 0 { (pointer + count).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        count += n
        return n
    }

    /// Sets the count after the caller filled `pointer` directly (a read into the buffer).
    public func setCount(_ newCount: Int) {
        precondition(newCount >= 0 && newCount <= capacity, "ByteBuffer count \(newCount) out of 0...\(capacity)")
        count = newCount
    }

    public func removeAll() { count = 0 }

    /// Drops the first `n` bytes, moving the rest to the front.
    public func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count, "ByteBuffer removeFirst(\(n)) of \(count)")
        if n < count { pointer.copyMemory(from: pointer + n, byteCount: count - n) }
        count -= n
    }

    /// Appends `n` zero bytes (padding up to an alignment).
    public func appendZeros(_ n: Int) {
        precondition(n >= 0 && n <= remainingCapacity, "ByteBuffer appendZeros(\(n)) past its capacity")
        (pointer + count).initializeMemory(as: UInt8.self, repeating: 0, count: n)
        count += n
    }

    public var array: [UInt8] { Array(bytes) }
}
