import Core

/// Slows down guessing of the root credentials at the dashboard's login form and at HTTP Basic auth:
/// a source (an IP address) that fails `failuresFree` times within `window` is refused for a while
/// before it may try again, the while doubling with each failure after that (up to `lockoutMax`).
/// A success clears the source. Pure, with the time passed in; bounded to `sourcesMax` sources (the
/// quietest are forgotten first).
public struct LoginThrottle: Sendable {
    public static let failuresFree = 5
    public static let window: Duration = .seconds(60)
    public static let lockoutFirst: Duration = .seconds(30)
    public static let lockoutMax: Duration = .seconds(15 * 60)
    public static let sourcesMax = 4096

    struct Record: Sendable {
        var failures: Int
        var firstFailure: Instant
        var lastFailure: Instant
        var lockedUntil: Instant?
    }

    private var records: [String: Record] = [:]

    public init() {}

    var sourceCount: Int { records.count }

    /// How long `source` must wait before its next attempt is judged; nil when it may try now.
    public func wait(for source: String, now: Instant) -> Duration? {
        guard let until = records[source]?.lockedUntil, now < until else { return nil }
        return until.since(now)
    }

    /// Records a failed attempt; returns how long the source is locked out after it (nil: not yet).
    @discardableResult
    public mutating func failed(_ source: String, now: Instant) -> Duration? {
        var r = records[source] ?? Record(failures: 0, firstFailure: now, lastFailure: now, lockedUntil: nil)
        let lockoutOver = r.lockedUntil.map { now >= $0 } ?? true
        if lockoutOver && now.since(r.lastFailure) > LoginThrottle.window {
            // Quiet for a whole window since the last failure (and any lockout over): a fresh start.
            r = Record(failures: 0, firstFailure: now, lastFailure: now, lockedUntil: nil)
        } else if r.lockedUntil == nil && now.since(r.firstFailure) > LoginThrottle.window {
            r = Record(failures: 0, firstFailure: now, lastFailure: now, lockedUntil: nil)  // a fresh window
        }
        r.failures += 1
        r.lastFailure = now
        var lockout: Duration?
        if r.failures >= LoginThrottle.failuresFree {
            let doublings = min(r.failures - LoginThrottle.failuresFree, 10)
            let d = min(LoginThrottle.lockoutFirst * (1 << doublings), LoginThrottle.lockoutMax)
            r.lockedUntil = now + d
            lockout = d
        }
        if records[source] == nil && records.count >= LoginThrottle.sourcesMax { forgetQuietest(now: now) }
        records[source] = r
        return lockout
    }

    /// A successful login: the source starts afresh.
    public mutating func succeeded(_ source: String) {
        records[source] = nil
    }

    /// Makes room: sources whose lockout and window are over go; if none, the one quiet the longest.
    private mutating func forgetQuietest(now: Instant) {
        records = records.filter { _, r in
            (r.lockedUntil.map { now < $0 } ?? false) || now.since(r.lastFailure) <= LoginThrottle.window
        }
        if records.count >= LoginThrottle.sourcesMax,
            let quietest = records.min(by: { $0.value.lastFailure < $1.value.lastFailure })?.key
        {
            records[quietest] = nil
        }
    }
}
