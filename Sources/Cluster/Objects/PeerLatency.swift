import Core

/// How fast each node has been answering the object layer's calls lately (a smoothed average per
/// node), to tell a slow node from the rest and read around it. Pure: the caller measures.
///
/// A node is slow when its average is several times the typical node's (the lower median, so with two
/// slow nodes of four the other two are still the typical ones) and past a floor that keeps an idle
/// loopback cluster's noise from counting. Every metadata read still asks every node, so a node that
/// stops being slow is seen to within a few requests.
public struct PeerLatency: Sendable, Equatable {
    /// The weight of each new sample in the average.
    static let weight = 0.2
    static let slowFactor = 4.0
    static let slowFloor: Duration = .milliseconds(40)
    /// A shard that delivers nothing for this many typical answers is read around.
    static let stallFactor = 8.0
    static let shardStallMin: Duration = .milliseconds(250)

    private var seconds: [NodeID: Double] = [:]

    public init() {}

    public mutating func record(_ node: NodeID, _ latency: Duration) {
        let s = max(0, latency.seconds)
        seconds[node] = seconds[node].map { $0 + PeerLatency.weight * (s - $0) } ?? s
    }

    /// The lower median of the nodes' averages (nil before any answer).
    public var typical: Duration? {
        let sorted = seconds.values.sorted()
        guard !sorted.isEmpty else { return nil }
        return .nanoseconds(Int64(sorted[(sorted.count - 1) / 2] * 1e9))
    }

    public func isSlow(_ node: NodeID) -> Bool {
        guard let mine = seconds[node], let typical = typical?.seconds else { return false }
        return mine > max(PeerLatency.slowFloor.seconds, PeerLatency.slowFactor * typical)
    }

    /// How long a read waits for a shard's frame before it reads parity instead, up to `limit`.
    public func shardStall(max limit: Duration) -> Duration {
        guard let typical else { return limit }
        let scaled = Duration.nanoseconds(Int64(typical.seconds * PeerLatency.stallFactor * 1e9))
        return min(limit, max(PeerLatency.shardStallMin, scaled))
    }
}
