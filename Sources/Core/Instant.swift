#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock, in nanoseconds since an arbitrary origin (boot on Linux).
///
/// Pure decision logic takes `Instant` values as arguments and never reads a clock, so tests can drive
/// it with a manual clock (`Instant(nanoseconds:)`) and the node drives it with `Instant.now()`.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// The current monotonic time (CLOCK_MONOTONIC, the clock libuv's uv_hrtime reads).
    public static func now() -> Instant {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Instant(nanoseconds: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let delta = rhs.nanoseconds
        if delta >= 0 {
            return Instant(nanoseconds: lhs.nanoseconds &+ UInt64(delta))
        }
        let back = UInt64(-delta)
        return Instant(nanoseconds: lhs.nanoseconds >= back ? lhs.nanoseconds - back : 0)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        lhs + (.zero - rhs)
    }

    /// The time from `earlier` to `self`; zero when `earlier` is in fact later, so callers never see a
    /// negative age when facts are recorded slightly out of order.
    public func since(_ earlier: Instant) -> Duration {
        guard nanoseconds > earlier.nanoseconds else { return .zero }
        return .nanoseconds(Int64(nanoseconds - earlier.nanoseconds))
    }

    public var description: String { "Instant(\(nanoseconds)ns)" }
}

extension Duration {
    /// Whole nanoseconds, saturating at the bounds of Int64.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    /// Seconds as a floating-point number, for rates and display.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
}
