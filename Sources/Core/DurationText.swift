/// Durations as people write them in flags and config files: `200ms`, `1s`, `1.5s`, `2m`, `1h`, `500us`.
public enum DurationText {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case empty
        case malformed(String)

        public var description: String {
            switch self {
            case .empty: "an empty duration: write a number and a unit, e.g. 200ms, 1s, 1.5s, 2m"
            case .malformed(let text):
                "'\(text)' is not a duration: write a number and a unit (us, ms, s, m, h), e.g. 200ms, 1s, 1.5s, 2m"
            }
        }
    }

    private static let units: [(suffix: String, nanoseconds: Double)] = [
        ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    /// One or more number-unit pairs: `200ms`, `1.5s`, and what `format` writes, like `3m05s`.
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        let trimmed = Array(text.trimmingSpaces())
        guard !trimmed.isEmpty else { throw .empty }
        var total = 0.0
        var i = 0
        while i < trimmed.count {
            let start = i
            while i < trimmed.count, trimmed[i].isNumber || trimmed[i] == "." { i += 1 }
            let number = String(trimmed[start..<i])
            guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, let value = Double(number), value.isFinite
            else { throw .malformed(text) }
            let unitStart = i
            while i < trimmed.count, trimmed[i].isLetter { i += 1 }
            guard let unit = units.first(where: { $0.suffix == String(trimmed[unitStart..<i]) }) else {
                throw .malformed(text)
            }
            total += value * unit.nanoseconds
        }
        guard total < 9.2e18 else { throw .malformed(text) }
        return .nanoseconds(Int64(total.rounded()))
    }

    /// A short human form: `850us`, `340ms`, `1.2s`, `3m05s`.
    public static func format(_ duration: Duration) -> String {
        let nanos = duration.nanoseconds
        let sign = nanos < 0 ? "-" : ""
        let n = nanos.magnitude
        switch n {
        case ..<1_000_000: return "\(sign)\(n / 1000)us"
        case ..<1_000_000_000: return "\(sign)\(n / 1_000_000)ms"
        case ..<60_000_000_000:
            let tenths = (n + 50_000_000) / 100_000_000
            return tenths % 10 == 0 ? "\(sign)\(tenths / 10)s" : "\(sign)\(tenths / 10).\(tenths % 10)s"
        default:
            let seconds = n / 1_000_000_000
            let minutes = seconds / 60
            let rest = seconds % 60
            return "\(sign)\(minutes)m\(rest < 10 ? "0" : "")\(rest)s"
        }
    }
}

extension String {
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
