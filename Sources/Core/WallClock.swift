#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time in milliseconds since the Unix epoch: for event timestamps and log lines, never for
/// timeouts (those use `Instant`).
public struct WallTime: Comparable, Hashable, Sendable, Codable {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func now() -> WallTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return WallTime(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: WallTime, rhs: WallTime) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-25T13:40:01.234Z`.
    public var iso8601: String {
        let parts = utcParts()
        return "\(pad(parts.year, 4))-\(pad(parts.month, 2))-\(pad(parts.day, 2))T"
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2)).\(pad(parts.millisecond, 3))Z"
    }

    /// `13:40:01.234` in local time, for terminal timelines.
    public var localClock: String {
        var seconds = time_t(millisecondsSinceEpoch / 1000)
        var tmValue = tm()
        localtime_r(&seconds, &tmValue)
        let ms = Int(millisecondsSinceEpoch % 1000)
        return
            "\(pad(Int(tmValue.tm_hour), 2)):\(pad(Int(tmValue.tm_min), 2)):\(pad(Int(tmValue.tm_sec), 2)).\(pad(ms, 3))"
    }

    /// RFC 7231 HTTP date: `Wed, 25 Nov 2026 13:40:01 GMT`.
    public var httpDate: String {
        let parts = utcParts()
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(days[parts.weekday]), \(pad(parts.day, 2)) \(months[parts.month - 1]) \(parts.year) "
            + "\(pad(parts.hour, 2)):\(pad(parts.minute, 2)):\(pad(parts.second, 2)) GMT"
    }

    /// Parses an HTTP date (`Wed, 25 Nov 2026 13:40:01 GMT`, RFC 7231's preferred form), or RFC 3339.
    public init?(httpDate text: String) {
        let trimmed = text.trimmingSpaces()
        let fields = trimmed.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard fields.count == 6, fields[0].hasSuffix(","), fields[5] == "GMT", let day = Int(fields[1]),
            let month = months.firstIndex(of: String(fields[2])), let year = Int(fields[3])
        else {
            guard let iso = WallTime(iso8601: trimmed) else { return nil }
            self = iso
            return
        }
        let clock = fields[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (0...23).contains(clock[0]), (0...59).contains(clock[1]),
            (0...60).contains(clock[2])
        else { return nil }
        var tmValue = tm()
        tmValue.tm_year = Int32(year - 1900)
        tmValue.tm_mon = Int32(month)
        tmValue.tm_mday = Int32(day)
        tmValue.tm_hour = Int32(clock[0])
        tmValue.tm_min = Int32(clock[1])
        tmValue.tm_sec = Int32(clock[2])
        self.init(millisecondsSinceEpoch: Int64(timegm(&tmValue)) * 1000)
    }

    /// Parses the RFC 3339 form written by `iso8601` (UTC, optional fraction).
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for b in bytes[from..<(from + count)] {
                guard b >= 48, b <= 57 else { return nil }
                value = value * 10 + Int(b - 48)
            }
            return value
        }
        guard bytes.count >= 20, let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var millis = 0
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 100
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                millis += Int(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        guard index == bytes.count - 1, bytes[index] == UInt8(ascii: "Z") else { return nil }
        var tmValue = tm()
        tmValue.tm_year = Int32(year - 1900)
        tmValue.tm_mon = Int32(month - 1)
        tmValue.tm_mday = Int32(day)
        tmValue.tm_hour = Int32(hour)
        tmValue.tm_min = Int32(minute)
        tmValue.tm_sec = Int32(second)
        let seconds = timegm(&tmValue)
        self.init(millisecondsSinceEpoch: Int64(seconds) * 1000 + Int64(millis))
    }

    private struct Parts {
        var year, month, day, hour, minute, second, millisecond, weekday: Int
    }

    private func utcParts() -> Parts {
        var seconds = time_t(millisecondsSinceEpoch / 1000)
        var tmValue = tm()
        gmtime_r(&seconds, &tmValue)
        return Parts(
            year: Int(tmValue.tm_year) + 1900, month: Int(tmValue.tm_mon) + 1, day: Int(tmValue.tm_mday),
            hour: Int(tmValue.tm_hour), minute: Int(tmValue.tm_min), second: Int(tmValue.tm_sec),
            millisecond: Int(millisecondsSinceEpoch % 1000), weekday: Int(tmValue.tm_wday))
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
