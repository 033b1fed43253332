import CCrypto
import CISAL

/// The checksums S3 clients send and expect (`x-amz-checksum-*`), computed incrementally.
public enum ChecksumAlgorithm: String, CaseIterable, Sendable, Codable {
    case crc32 = "CRC32"
    case crc32c = "CRC32C"
    case crc64nvme = "CRC64NVME"
    case sha1 = "SHA1"
    case sha256 = "SHA256"

    /// The header that carries it: `x-amz-checksum-crc32`, ...
    public var headerName: String { "x-amz-checksum-\(rawValue.lowercased())" }

    public init?(headerName: String) {
        let lower = headerName.lowercased()
        guard lower.hasPrefix("x-amz-checksum-") else { return nil }
        self.init(rawValue: String(lower.dropFirst("x-amz-checksum-".count)).uppercased())
    }

    public var digestBytes: Int {
        switch self {
        case .crc32, .crc32c: 4
        case .crc64nvme: 8
        case .sha1: 20
        case .sha256: 32
        }
    }
}

/// How a multipart object's checksum is made (`x-amz-checksum-type`): of the parts' checksums
/// (`value-N`), or of the object's bytes, combined from the parts' CRCs.
public enum ChecksumType: String, Codable, Sendable, CaseIterable {
    case composite = "COMPOSITE"
    case fullObject = "FULL_OBJECT"
}

/// The checksum a multipart upload asked for (`x-amz-checksum-algorithm` and `-type` on
/// CreateMultipartUpload): every part gets it, and the object gets it of that type.
public struct MultipartChecksum: Codable, Equatable, Sendable {
    public var algorithm: ChecksumAlgorithm
    public var type: ChecksumType

    /// S3's pairs: CRCs combine into a full-object value, digests only compose; CRC64NVME is only
    /// full-object. Nil for a pair S3 refuses; without a type, S3's default for the algorithm.
    public init?(algorithm: ChecksumAlgorithm, type: ChecksumType?) {
        let combines = CRCCombine.parameters(algorithm) != nil
        let type = type ?? (algorithm == .crc64nvme ? .fullObject : .composite)
        switch type {
        case .fullObject: guard combines else { return nil }
        case .composite: guard algorithm != .crc64nvme else { return nil }
        }
        self.algorithm = algorithm
        self.type = type
    }
}

/// A running checksum of one of the S3 algorithms. The value is big-endian bytes, sent base64 in headers.
public struct RunningChecksum: Sendable {
    public let algorithm: ChecksumAlgorithm
    private var crc32: UInt32 = 0
    private var crc32c: UInt32 = 0xFFFF_FFFF
    private var crc64: UInt64 = ~0
    private let digest: Digest?

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .sha1: digest = Digest(.sha1)
        case .sha256: digest = Digest(.sha256)
        default: digest = nil
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let p = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        switch algorithm {
        case .crc32: crc32 = crc32_gzip_refl(crc32, p, UInt64(bytes.count))
        case .crc32c:
            // ISA-L takes an Int32 length: feed larger buffers in pieces.
            var offset = 0
            while offset < bytes.count {
                let n = min(bytes.count - offset, Int(Int32.max))
                crc32c = crc32_iscsi(p + offset, Int32(n), crc32c)
                offset += n
            }
        case .crc64nvme: crc64 = CRC64NVME.update(crc64, bytes)
        case .sha1, .sha256: digest!.update(bytes)
        }
    }

    /// The final value (the running state is not changed, except for SHA digests, which end here).
    public func finish() -> [UInt8] {
        switch algorithm {
        case .crc32: return bigEndian(UInt64(crc32), bytes: 4)
        case .crc32c: return bigEndian(UInt64(crc32c ^ 0xFFFF_FFFF), bytes: 4)
        case .crc64nvme: return bigEndian(~crc64, bytes: 8)
        case .sha1, .sha256: return digest!.finish()
        }
    }

    private func bigEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// One-shot helper.
    public static func compute(_ algorithm: ChecksumAlgorithm, _ bytes: [UInt8]) -> [UInt8] {
        var c = RunningChecksum(algorithm)
        bytes.withUnsafeBytes { c.update($0) }
        return c.finish()
    }
}

/// CRC-64/NVME (reflected polynomial 0x9A6C9329AC4BC9B5), which ISA-L 2.30 lacks; slicing by 8.
enum CRC64NVME {
    static let tables: [[UInt64]] = {
        var t = Array(repeating: Array(repeating: UInt64(0), count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt64(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x9A6C_9329_AC4B_C9B5 : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for s in 1..<8 { t[s][i] = (t[s - 1][i] >> 8) ^ t[0][Int(t[s - 1][i] & 0xFF)] }
        }
        return t
    }()

    static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var c = crc
        var i = 0
        let n = bytes.count
        tables.withUnsafeBufferPointer { t in
            let t0 = t[0]
            let t1 = t[1]
            let t2 = t[2]
            let t3 = t[3]
            let t4 = t[4]
            let t5 = t[5]
            let t6 = t[6]
            let t7 = t[7]
            while i + 8 <= n {
                c ^= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian
                c =
                    t7[Int(c & 0xFF)] ^ t6[Int((c >> 8) & 0xFF)] ^ t5[Int((c >> 16) & 0xFF)] ^ t4[Int((c >> 24) & 0xFF)]
                    ^ t3[Int((c >> 32) & 0xFF)] ^ t2[Int((c >> 40) & 0xFF)] ^ t1[Int((c >> 48) & 0xFF)]
                    ^ t0[Int(c >> 56)]
                i += 8
            }
            while i < n {
                c = t0[Int((c ^ UInt64(bytes[i])) & 0xFF)] ^ (c >> 8)
                i += 1
            }
        }
        return c
    }
}

/// The bitrot checksum stored before every shard block: CRC-64 (ECMA-182, reflected, as xz uses) from
/// ISA-L, about 50 GB/s per core here. (XXH3 from Debian's shared libxxhash measured 5 GB/s, slower than
/// the erasure coding it guards.)
public enum BlockHash {
    public static let bytes = 8

    public static func crc64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        return crc64_ecma_refl(
            0, UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self)), UInt64(bytes.count))
    }
}

/// An incremental MD5 / SHA-1 / SHA-256 over OpenSSL's EVP interface. One owner at a time (it may move
/// to a thread-pool job and back).
public final class Digest: @unchecked Sendable {
    public enum Kind: Sendable {
        case md5, sha1, sha256

        var name: String {
            switch self {
            case .md5: "MD5"
            case .sha1: "SHA1"
            case .sha256: "SHA256"
            }
        }
    }

    private let context: OpaquePointer
    private var finished: [UInt8]?

    public init(_ kind: Kind) {
        let md = EVP_MD_fetch(nil, kind.name, nil)
        precondition(md != nil, "libcrypto has no \(kind.name)")
        defer { EVP_MD_free(md) }
        context = EVP_MD_CTX_new()
        precondition(EVP_DigestInit_ex(context, md, nil) == 1, "EVP_DigestInit_ex(\(kind.name)) failed")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(finished == nil, "Digest updated after finish")
        if bytes.count > 0 { EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    /// The digest; later calls return the same value.
    public func finish() -> [UInt8] {
        if let finished { return finished }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        let value = Array(out.prefix(Int(length)))
        finished = value
        return value
    }
}

/// Standard base64 (RFC 4648, with padding), for checksum headers and inline data.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let reverse: [UInt8] = {
        var r = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { r[Int(c)] = UInt8(i) }
        return r
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var it = bytes.makeIterator()
        while let a = it.next() {
            let b = it.next()
            let c = it.next()
            out.append(alphabet[Int(a >> 2)])
            out.append(alphabet[Int((a & 3) << 4 | (b ?? 0) >> 4)])
            out.append(b.map { alphabet[Int(($0 & 15) << 2 | (c ?? 0) >> 6)] } ?? UInt8(ascii: "="))
            out.append(c.map { alphabet[Int($0 & 63)] } ?? UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for anything that is not padded base64 (stray bits in the padding are tolerated).
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let pad = chars[i + 2] == UInt8(ascii: "=") ? 2 : (chars[i + 3] == UInt8(ascii: "=") ? 1 : 0)
            guard pad == 0 || i + 4 == chars.count else { return nil }
            var v: UInt32 = 0
            for j in 0..<4 {
                let c = chars[i + j]
                if j >= 4 - pad {
                    guard c == UInt8(ascii: "=") else { return nil }
                    v <<= 6
                    continue
                }
                let d = reverse[Int(c)]
                guard d != 0xFF else { return nil }
                v = v << 6 | UInt32(d)
            }
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            if pad < 2 { out.append(UInt8(truncatingIfNeeded: v >> 8)) }
            if pad < 1 { out.append(UInt8(truncatingIfNeeded: v)) }
            i += 4
        }
        return out
    }
}

/// An incremental Poly1305 MAC (OpenSSL's EVP_MAC): 16-byte tags at several GB/s, so a request body of
/// any size can be authenticated. A key must authenticate one message only (derive one per message).
/// One owner at a time.
public final class Poly1305: @unchecked Sendable {
    public static let keyBytes = 32
    public static let tagBytes = 16
    /// Fetched once: a fetch looks the algorithm up by name.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let mac = EVP_MAC_fetch(nil, "POLY1305", nil) else { fatalError("libcrypto has no POLY1305") }
        return mac
    }()

    private let context: OpaquePointer
    private var finished: [UInt8]?

    public init(key: [UInt8]) {
        precondition(key.count == Poly1305.keyBytes, "a Poly1305 key is \(Poly1305.keyBytes) bytes")
        context = EVP_MAC_CTX_new(Poly1305.algorithm)
        precondition(EVP_MAC_init(context, key, key.count, nil) == 1, "EVP_MAC_init(POLY1305) failed")
    }

    deinit { EVP_MAC_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(finished == nil, "Poly1305 updated after finish")
        if bytes.count > 0 { EVP_MAC_update(context, bytes.baseAddress, bytes.count) }
    }

    /// The tag; later calls return the same value.
    public func finish() -> [UInt8] {
        if let finished { return finished }
        var out = [UInt8](repeating: 0, count: Poly1305.tagBytes)
        var length = 0
        precondition(EVP_MAC_final(context, &out, &length, out.count) == 1 && length == Poly1305.tagBytes)
        finished = out
        return out
    }
}
