/// The CRC of A followed by B from the CRCs of A and of B and B's length (zlib's crc32_combine, for
/// any reflected CRC whose initial value and final xor are all ones: CRC32, CRC32C, CRC64NVME), so a
/// multipart object's full-object checksum comes from its parts' without reading them again.
public enum CRCCombine {
    /// The reflected polynomial and width of a CRC algorithm; nil for the digests, which do not combine.
    static func parameters(_ algorithm: ChecksumAlgorithm) -> (polynomial: UInt64, width: Int)? {
        switch algorithm {
        case .crc32: (0xEDB8_8320, 32)
        case .crc32c: (0x82F6_3B78, 32)
        case .crc64nvme: (0x9A6C_9329_AC4B_C9B5, 64)
        case .sha1, .sha256: nil
        }
    }

    /// Both values big-endian, as `RunningChecksum.finish()` gives them; nil for a digest or values of
    /// the wrong size.
    public static func combine(
        _ algorithm: ChecksumAlgorithm, _ first: [UInt8], _ second: [UInt8], secondLength: Int64
    ) -> [UInt8]? {
        guard let (polynomial, width) = parameters(algorithm), first.count == width / 8, second.count == width / 8,
            secondLength >= 0
        else { return nil }
        let a = first.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let b = second.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let shift = power(bits: UInt64(secondLength) * 8, polynomial: polynomial, width: width)
        let combined = multiply(shift, a, polynomial: polynomial, width: width) ^ b
        return (0..<width / 8).reversed().map { UInt8(truncatingIfNeeded: combined >> (8 * UInt64($0))) }
    }

    /// a(x) * b(x) mod P(x), in the reflected representation (x^0 is the top bit).
    static func multiply(_ a: UInt64, _ b: UInt64, polynomial: UInt64, width: Int) -> UInt64 {
        var m: UInt64 = 1 << UInt64(width - 1)
        var product: UInt64 = 0
        var b = b
        while m != 0 {
            if a & m != 0 { product ^= b }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ polynomial : b >> 1
        }
        return product
    }

    /// x^bits mod P(x), by squaring.
    static func power(bits: UInt64, polynomial: UInt64, width: Int) -> UInt64 {
        var result: UInt64 = 1 << UInt64(width - 1)
        var base: UInt64 = 1 << UInt64(width - 2)
        var n = bits
        while n > 0 {
            if n & 1 != 0 { result = multiply(result, base, polynomial: polynomial, width: width) }
            base = multiply(base, base, polynomial: polynomial, width: width)
            n >>= 1
        }
        return result
    }
}
