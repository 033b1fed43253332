import Core

/// The node's recent events, numbered, in a ring of bounded size (older ones stay in the node log).
/// Loop-bound.
public final class EventLog {
    public let capacity: Int
    private var ring: [Event] = []
    private var start = 0
    public private(set) var lastSequence: UInt64 = 0

    /// Recent events kept in memory (the node log keeps them all).
    public static let defaultCapacity = 10_000

    public init(capacity: Int = EventLog.defaultCapacity) {
        precondition(capacity > 0, "EventLog capacity must be positive")
        self.capacity = capacity
    }

    /// Numbers and stores `event`; returns it with its sequence number.
    @discardableResult
    public func append(_ event: Event) -> Event {
        var numbered = event
        lastSequence += 1
        numbered.sequence = lastSequence
        if ring.count < capacity {
            ring.append(numbered)
        } else {
            ring[start] = numbered
            start = (start + 1) % capacity
        }
        return numbered
    }

    /// Events numbered after `sequence`, oldest first, at most `limit`.
    public func events(after sequence: UInt64, limit: Int = 1000) -> [Event] {
        let ordered = ring.count < capacity ? ring : Array(ring[start...] + ring[..<start])
        return Array(ordered.lazy.filter { $0.sequence > sequence }.prefix(limit))
    }
}
