/// Percent-encoding as S3 and SigV4 use it (RFC 3986: only `A-Z a-z 0-9 - _ . ~` stay as they are).
public enum URLEncoding {
    static let hex = Array("0123456789ABCDEF".utf8)

    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 45 || b == 95 || b == 46
            || b == 126
    }

    /// Encodes every byte outside the unreserved set; `/` is kept when `keepSlash` (for paths).
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            if isUnreserved(b) || (keepSlash && b == 47) {
                out.append(b)
            } else {
                out += [37, hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` sequences (and `+` as a space when `plusAsSpace`, as query strings do). Nil when a
    /// sequence is malformed or the result is not UTF-8.
    public static func decode(_ text: Substring, plusAsSpace: Bool) -> String? {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 37 {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else {
                    return nil
                }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plusAsSpace && b == 43 ? 32 : b)
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        case 97...102: b - 87
        default: nil
        }
    }
}

/// A query string's parameters, in order, decoded.
public struct QueryParameters: Sendable, Equatable {
    public private(set) var pairs: [(name: String, value: String)]

    public init(_ pairs: [(String, String)] = []) {
        self.pairs = pairs.map { (name: $0.0, value: $0.1) }
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0 == $1 }
    }

    /// Parses `a=1&b&c=x%20y`; nil when an escape is malformed.
    public init?(parsing raw: Substring?) {
        var pairs: [(String, String)] = []
        for part in (raw ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = URLEncoding.decode(kv[0], plusAsSpace: true),
                let value = kv.count > 1 ? URLEncoding.decode(kv[1], plusAsSpace: true) : ""
            else { return nil }
            pairs.append((name, value))
        }
        self.init(pairs)
    }

    public subscript(name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    public func contains(_ name: String) -> Bool {
        pairs.contains { $0.name == name }
    }

    public mutating func append(_ name: String, _ value: String) {
        pairs.append((name, value))
    }

    /// `a=1&b=x%20y`, encoded.
    public var encoded: String {
        pairs.map { URLEncoding.encode($0.name) + "=" + URLEncoding.encode($0.value) }.joined(separator: "&")
    }
}
