import Core

/// Counts events per second over a trailing window. Pure: the caller passes the time.
public struct RateMeter: Sendable {
    public let window: Duration
    private var buckets: [(second: UInt64, count: Int)] = []

    public init(window: Duration = .seconds(5)) {
        precondition(window >= .seconds(1), "RateMeter window must be at least a second")
        self.window = window
    }

    public mutating func record(at now: Instant, count: Int = 1) {
        let second = now.nanoseconds / 1_000_000_000
        if let last = buckets.last, last.second == second {
            buckets[buckets.count - 1].count += count
        } else {
            buckets.append((second, count))
        }
        trim(now)
    }

    /// Events per second over the window's complete seconds before `now`.
    public mutating func perSecond(at now: Instant) -> Double {
        trim(now)
        let second = now.nanoseconds / 1_000_000_000
        let span = UInt64(window.nanoseconds / 1_000_000_000)
        let total = buckets.filter { $0.second < second && $0.second + span >= second }.reduce(0) { $0 + $1.count }
        return Double(total) / Double(span)
    }

    private mutating func trim(_ now: Instant) {
        let second = now.nanoseconds / 1_000_000_000
        let span = UInt64(window.nanoseconds / 1_000_000_000)
        buckets.removeAll { $0.second + span < second }
    }
}
