import Core

/// The heartbeat and failure-detection timings of DESIGN.md section 6, checked for consistency at start.
public struct HeartbeatTiming: Sendable, Equatable {
    /// How often every node sends a heartbeat to every peer.
    public var interval: Duration
    /// A peer unheard for this long is offline.
    public var deadAfter: Duration
    /// Intervals without a heartbeat before a peer is suspect.
    public static let missedIntervalsForSuspect: Int64 = 2

    public init(interval: Duration = .seconds(1), deadAfter: Duration = .seconds(3)) {
        self.interval = interval
        self.deadAfter = deadAfter
    }

    /// The demo profile: detection within about a second.
    public static let demo = HeartbeatTiming(interval: .milliseconds(200), deadAfter: .seconds(1))

    /// A peer unheard for this long (two missed heartbeats) is suspect.
    public var suspectAfter: Duration { interval * HeartbeatTiming.missedIntervalsForSuspect }

    /// How long a heartbeat request may take before it counts as a failed call.
    public var requestTimeout: Duration { interval }

    /// A gap this long between two ticks of our own means we were stalled (paused, swapped out), and the
    /// silence of peers during it is not their fault.
    public var stallThreshold: Duration { suspectAfter }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public func validate() throws(Invalid) {
        guard interval >= .milliseconds(10) else {
            throw Invalid(
                description: "the heartbeat interval (\(DurationText.format(interval))) must be at least 10ms")
        }
        guard deadAfter > suspectAfter else {
            throw Invalid(
                description:
                    "dead-after must be longer than two heartbeat intervals (suspect after \(DurationText.format(suspectAfter))): "
                    + "raise dead-after or lower the interval")
        }
    }
}
