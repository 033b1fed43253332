/// Bytes in memory the buffer owns, at a stable, 64-byte-aligned address: what libuv writes from, the
/// thread pool hashes and erasure-codes, and what survives until a write callback runs.
///
/// Ownership: one owner at a time. A buffer may be handed to a thread-pool job and back (hence
/// `@unchecked Sendable`), but never read on one thread while another writes it.
public final class ByteBuffer: @unchecked Sendable {
    public let capacity: Int
    public private(set) var count: Int = 0
    public let pointer: UnsafeMutableRawPointer

    public init(capacity: Int) {
        precondition(capacity >= 0, "negative ByteBuffer capacity")
        self.capacity = capacity
        self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1), alignment: 64)
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
        pointer.deallocate()
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

    public var array: [UInt8] { Array(bytes) }
}
