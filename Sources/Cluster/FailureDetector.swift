import Core

/// Decides, from heartbeats heard and calls that failed, which peers are online, suspect or offline.
///
/// Pure: it never reads a clock or touches a socket. Facts go in with the time they happened; the state
/// changes come out as transitions, which the shell turns into events. Rules (DESIGN.md section 6):
/// - online at the first heartbeat, and again at the next heartbeat after any silence;
/// - suspect after two missed intervals, or at once when a call to the peer fails (refused, timed out);
/// - offline when unheard for `deadAfter`, or at once when it says it is leaving;
/// - a heartbeat with a newer incarnation means the peer restarted; an older one is a stale message and
///   is ignored;
/// - a gap between our own ticks longer than the stall threshold means we were stalled: peers get that
///   time back instead of being declared dead for our own pause.
public struct FailureDetector: Sendable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case online, suspect, offline
    }

    public struct Peer: Sendable, Equatable {
        public var state: State = .offline
        /// When we last had evidence the peer was alive; nil before the first contact.
        public var lastHeard: Instant?
        public var incarnation: UInt64?
        /// When `state` last changed.
        public var since: Instant
        /// The incarnation the peer left at: late heartbeats from it do not bring it back.
        public var leftIncarnation: UInt64?
    }

    public enum Transition: Equatable, Sendable {
        case suspect(NodeID, reason: String)
        case offline(NodeID, reason: String)
        case online(NodeID, previous: State, firstContact: Bool)
        case restarted(NodeID, previousIncarnation: UInt64, incarnation: UInt64)
        /// We did not run for this long; peers were given the time back.
        case stalled(Duration)
    }

    public let timing: HeartbeatTiming
    public private(set) var peers: [NodeID: Peer]
    private var lastTick: Instant

    public init(peers: [NodeID], timing: HeartbeatTiming, now: Instant) {
        self.timing = timing
        self.peers = Dictionary(uniqueKeysWithValues: peers.map { ($0, Peer(since: now)) })
        self.lastTick = now
    }

    public func state(of peer: NodeID) -> State {
        peers[peer]?.state ?? .offline
    }

    /// Time since the peer was last heard, or nil if never.
    public func silence(of peer: NodeID, now: Instant) -> Duration? {
        peers[peer]?.lastHeard.map { now.since($0) }
    }

    /// The peer showed it is alive (its heartbeat reached us, or it answered ours).
    public mutating func heard(from id: NodeID, incarnation: UInt64, at now: Instant) -> [Transition] {
        guard var peer = peers[id] else { return [] }
        if let left = peer.leftIncarnation {
            if incarnation <= left { return [] }  // still the one that said goodbye
            peer.leftIncarnation = nil
        }
        var out: [Transition] = []
        if let known = peer.incarnation {
            if incarnation < known { return [] }  // a delayed message from before a restart
            if incarnation > known { out.append(.restarted(id, previousIncarnation: known, incarnation: incarnation)) }
        }
        let firstContact = peer.lastHeard == nil
        peer.incarnation = incarnation
        peer.lastHeard = max(peer.lastHeard ?? now, now)
        if peer.state != .online {
            out.insert(.online(id, previous: peer.state, firstContact: firstContact), at: 0)
            peer.state = .online
            peer.since = now
        }
        peers[id] = peer
        return out
    }

    /// A call to the peer failed. An online peer becomes suspect at once; its silence clock keeps running.
    public mutating func callFailed(to id: NodeID, reason: String, at now: Instant) -> [Transition] {
        // A call that "timed out" while we ourselves did not run says nothing about the peer; the next
        // tick will notice the stall.
        guard now.since(lastTick) < timing.stallThreshold else { return [] }
        guard var peer = peers[id], peer.state == .online else { return [] }
        peer.state = .suspect
        peer.since = now
        peers[id] = peer
        return [.suspect(id, reason: reason)]
    }

    /// The peer announced a graceful stop: offline at once, no need to wait for silence.
    public mutating func left(_ id: NodeID, incarnation: UInt64, at now: Instant) -> [Transition] {
        guard var peer = peers[id] else { return [] }
        if let known = peer.incarnation, incarnation < known { return [] }
        peer.leftIncarnation = max(peer.leftIncarnation ?? 0, incarnation)
        guard peer.state != .offline else {
            peers[id] = peer
            return []
        }
        peer.state = .offline
        peer.since = now
        peers[id] = peer
        return [.offline(id, reason: "stopped gracefully")]
    }

    /// Advances time: silence turns into suspicion, then death.
    public mutating func tick(now: Instant) -> [Transition] {
        var out: [Transition] = []
        let gap = now.since(lastTick)
        lastTick = max(lastTick, now)
        if gap >= timing.stallThreshold {
            // Our own pause: shift every peer's last-heard forward by the gap, keeping its age before the pause.
            for id in peers.keys {
                if let heard = peers[id]?.lastHeard { peers[id]?.lastHeard = min(now, heard + gap) }
            }
            out.append(.stalled(gap))
        }
        for id in peers.keys.sorted() {
            guard var peer = peers[id], peer.state != .offline, let heard = peer.lastHeard else { continue }
            let silence = now.since(heard)
            if silence >= timing.deadAfter {
                peer.state = .offline
                peer.since = now
                out.append(.offline(id, reason: "no heartbeat for \(DurationText.format(silence))"))
            } else if peer.state == .online && silence >= timing.suspectAfter {
                peer.state = .suspect
                peer.since = now
                out.append(.suspect(id, reason: "no heartbeat for \(DurationText.format(silence))"))
            }
            peers[id] = peer
        }
        return out
    }
}
