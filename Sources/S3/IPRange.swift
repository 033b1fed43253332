#if canImport(Glibc)
import Glibc
#endif

/// An IP address or CIDR range (`192.168.1.0/24`, `::1`, `2001:db8::/32`), for the `aws:SourceIp`
/// conditions of bucket policies. Pure.
struct IPRange: Equatable {
    var bytes: [UInt8]
    var prefixBits: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = IPRange.address(String(first)) else { return nil }
        let bits = address.count * 8
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...bits).contains(n) else { return nil }
            prefixBits = n
        } else {
            prefixBits = bits
        }
        bytes = address
    }

    /// The 4 or 16 bytes of an address (an IPv4-mapped IPv6 address is taken as its IPv4 one).
    static func address(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return Array(bytes[12...])
        }
        return bytes
    }

    func contains(_ text: String) -> Bool {
        guard let other = IPRange.address(text), other.count == bytes.count else { return false }
        var left = prefixBits
        for i in 0..<bytes.count where left > 0 {
            let take = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - take))
            if bytes[i] & mask != other[i] & mask { return false }
            left -= take
        }
        return true
    }
}
