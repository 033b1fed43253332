import Core

extension EventKind {
    /// A peer stopped answering (missed heartbeats or a failed call); not yet declared dead.
    public static let nodeSuspect = EventKind("node_suspect")
    /// A peer has been silent for dead-after, or stopped gracefully.
    public static let nodeOffline = EventKind("node_offline")
    /// A peer is heard from again (or for the first time).
    public static let nodeOnline = EventKind("node_online")
    /// A peer came back with a new incarnation: it restarted.
    public static let nodeRestarted = EventKind("node_restarted")
    /// This node did not run for a while (paused, starved); peers were not blamed for it.
    public static let nodeStalled = EventKind("node_stalled")
    /// This node started serving.
    public static let nodeStarted = EventKind("node_started")
    /// This node is stopping (a signal), and why.
    public static let nodeStopping = EventKind("node_stopping")
}

extension FailureDetector.Transition {
    /// The event this transition is, as reported by `source`.
    public func event(source: NodeID, silence: Duration?) -> Event {
        let heard: [(String, JSONValue)] = silence.map { [("lastHeardMs", .int($0.milliseconds))] } ?? []
        switch self {
        case .suspect(let peer, let reason):
            return Event(
                source: source.rawValue, kind: .nodeSuspect,
                fields: [("peer", .string(peer.rawValue)), ("reason", .string(reason))] + heard)
        case .offline(let peer, let reason):
            return Event(
                source: source.rawValue, kind: .nodeOffline,
                fields: [("peer", .string(peer.rawValue)), ("reason", .string(reason))] + heard)
        case .online(let peer, let previous, let firstContact):
            return Event(
                source: source.rawValue, kind: .nodeOnline,
                fields: [
                    ("peer", .string(peer.rawValue)), ("previous", .string(previous.rawValue)),
                    ("firstContact", .bool(firstContact)),
                ])
        case .restarted(let peer, let previous, let incarnation):
            return Event(
                source: source.rawValue, kind: .nodeRestarted,
                fields: [
                    ("peer", .string(peer.rawValue)), ("incarnation", .int(Int64(incarnation))),
                    ("previousIncarnation", .int(Int64(previous))),
                ])
        case .stalled(let gap):
            return Event(source: source.rawValue, kind: .nodeStalled, fields: [("gapMs", .int(gap.milliseconds))])
        }
    }

    public var peer: NodeID? {
        switch self {
        case .suspect(let p, _), .offline(let p, _), .online(let p, _, _), .restarted(let p, _, _): p
        case .stalled: nil
        }
    }
}
