/// A small, fast, seeded random number generator (SplitMix64), for everything that must replay from a
/// seed: split points in parser tests, the membership simulator, chaos schedules.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fills `buffer` with the next bytes of the stream (each word's bytes lowest first).
    public mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var i = 0
        while i < buffer.count {
            let v = next()
            for j in 0..<min(8, buffer.count - i) { buffer[i + j] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(j))) }
            i += 8
        }
    }

    /// The next `count` bytes of the stream.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }
}
