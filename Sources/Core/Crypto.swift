import CCrypto

/// Hashes and MACs from OpenSSL's libcrypto (EVP interfaces; the low-level SHA256_* calls are deprecated).
public enum Crypto {
    public static func sha256(_ bytes: some ContiguousBytes) -> [UInt8] {
        digest(bytes, name: "SHA256")
    }

    public static func md5(_ bytes: some ContiguousBytes) -> [UInt8] {
        digest(bytes, name: "MD5")
    }

    public static func hmacSHA256(key: some ContiguousBytes, data: some ContiguousBytes) -> [UInt8] {
        hmac(EVP_sha256(), key: key, data: data)
    }

    /// For AWS Signature Version 2 (legacy clients and boto3's default presigned URLs).
    public static func hmacSHA1(key: some ContiguousBytes, data: some ContiguousBytes) -> [UInt8] {
        hmac(EVP_sha1(), key: key, data: data)
    }

    private static func hmac(_ md: OpaquePointer?, key: some ContiguousBytes, data: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                _ = HMAC(
                    md, k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count,
                    &out, &length)
            }
        }
        return Array(out.prefix(Int(length)))
    }

    /// Cryptographically random bytes (for deployment ids and session secrets).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let rc = RAND_bytes(&out, Int32(count))
        precondition(rc == 1, "RAND_bytes failed: the OpenSSL random generator is not seeded")
        return out
    }

    /// Compares two MACs in time independent of where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }

    private static func digest(_ bytes: some ContiguousBytes, name: String) -> [UInt8] {
        let md = EVP_MD_fetch(nil, name, nil)
        precondition(md != nil, "libcrypto has no \(name) digest")
        defer { EVP_MD_free(md) }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        bytes.withUnsafeBytes { b in
            _ = EVP_Digest(b.baseAddress, b.count, &out, &length, md, nil)
        }
        return Array(out.prefix(Int(length)))
    }
}

/// A protocol for byte containers that expose contiguous storage (arrays, slices, UTF-8 views).
public protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(underestimatedCount * 2)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// The bytes of a hexadecimal string (either case); nil if it is not one.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var i = 0
        while i < digits.count {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        self = out
    }
}
