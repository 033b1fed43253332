import Core
import FoundationEssentials
import HTTP
import Loop

/// The I/O shell around `FailureDetector`: sends a heartbeat to every peer each interval, answers the
/// heartbeats of others, and turns the detector's transitions into events. Loop-bound.
///
/// Socket callbacks only record facts (heard / call failed / left); every decision is the detector's.
public final class Membership {
    public struct PeerStatus: Sendable {
        public var id: NodeID
        public var url: String
        public var state: FailureDetector.State
        /// Time since last heard; nil if never.
        public var silence: Duration?
        /// How long the peer has been in `state`.
        public var stateAge: Duration
        public var incarnation: UInt64?
        /// The peer's last heartbeat (its load and view).
        public var reported: Heartbeat?
    }

    public let me: NodeID
    public let incarnation: UInt64
    /// Identifies the cluster (a hash of its member list); heartbeats from another cluster are refused.
    public let clusterID: String
    public var timing: HeartbeatTiming { detector.timing }
    public let peers: [PeerAddress]
    private let endpoints: [NodeID: HTTPEndpoint]
    private var detector: FailureDetector
    private let loop: EventLoop
    private let client: HTTPClient
    private let key: ClusterKey
    private let log: Logger
    private let emit: (Event) -> Void
    private var nextSend: [NodeID: Instant] = [:]
    private var inFlight: Set<NodeID> = []
    private var reported: [NodeID: Heartbeat] = [:]
    private var warned: Set<String> = []
    /// Set once this node announced it is stopping: no more heartbeats go out, and incoming ones are
    /// answered 503 so peers do not bring it back.
    public private(set) var isLeaving = false
    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()

    /// What this node reports about its load and health in each heartbeat.
    public var load: () -> NodeLoad = { NodeLoad() }
    public var health: () -> String = { "ok" }

    public static let clusterIDHeader = "X-Dc-Cluster"
    /// Largest heartbeat body accepted (a 16-node view with load is about 1 KiB).
    static let heartbeatBytesMax: Int64 = 64 << 10
    static let leaveBytesMax: Int64 = 4 << 10

    public init(
        me: NodeID, incarnation: UInt64, members: [PeerAddress], timing: HeartbeatTiming, loop: EventLoop,
        client: HTTPClient,
        key: ClusterKey, log: Logger, emit: @escaping (Event) -> Void
    ) {
        self.me = me
        self.incarnation = incarnation
        self.clusterID =
            Crypto.sha256(Array(members.map { "\($0.id)=\($0.url)" }.joined(separator: ",").utf8)).prefix(8).hexString
        self.peers = members.filter { $0.id != me }
        self.endpoints = Dictionary(
            uniqueKeysWithValues: peers.compactMap { p in HTTPEndpoint(url: p.url).map { (p.id, $0) } })
        self.detector = FailureDetector(peers: peers.map(\.id), timing: timing, now: loop.now)
        self.loop = loop
        self.client = client
        self.key = key
        self.log = log
        self.emit = emit
    }

    public func state(of peer: NodeID) -> FailureDetector.State { detector.state(of: peer) }

    /// Since when a peer has been online, if it is.
    public func onlineSince(_ peer: NodeID) -> Instant? {
        guard let d = detector.peers[peer], d.state == .online else { return nil }
        return d.since
    }

    /// The peers online that say in their heartbeats they are rebuilding their data.
    public var healingPeers: Set<NodeID> {
        Set(
            peers.map(\.id).filter {
                detector.state(of: $0) == .online && reported[$0]?.health == Membership.healingHealth
            })
    }

    /// The `health` a node rebuilding its data folder reports.
    public static let healingHealth = "healing"

    /// Members (self included) this node currently sees online.
    public var onlineCount: Int { 1 + peers.count { detector.state(of: $0.id) == .online } }

    public var view: [String: FailureDetector.State] {
        Dictionary(uniqueKeysWithValues: peers.map { ($0.id.rawValue, detector.state(of: $0.id)) })
    }

    public func peerStatuses(now: Instant) -> [PeerStatus] {
        peers.map { p in
            let d = detector.peers[p.id]
            return PeerStatus(
                id: p.id, url: p.url, state: d?.state ?? .offline, silence: detector.silence(of: p.id, now: now),
                stateAge: d.map { now.since($0.since) } ?? .zero, incarnation: d?.incarnation, reported: reported[p.id])
        }
    }

    public func ownHeartbeat() -> Heartbeat {
        Heartbeat(
            node: me, incarnation: incarnation, health: health(), load: load(), view: view,
            sentAt: WallTime.now().millisecondsSinceEpoch)
    }

    // MARK: Driving

    /// Called by the node's timer: advances the detector and sends the heartbeats that are due.
    public func tick(now: Instant) {
        apply(detector.tick(now: now), now: now)
        guard !isLeaving else { return }
        for peer in peers where !inFlight.contains(peer.id) && now >= nextSend[peer.id, default: now] {
            nextSend[peer.id] = now + timing.interval
            send(to: peer.id)
        }
    }

    private func send(to peer: NodeID) {
        guard let endpoint = endpoints[peer], let body = try? encoder.encode(ownHeartbeat()) else { return }
        var headers = key.sign(
            method: "POST", target: MembershipPaths.heartbeat, caller: me.rawValue, body: Array(body),
            nonce: .next(to: endpoint.description))
        headers.add("Content-Type", "application/json")
        headers.add(Membership.clusterIDHeader, clusterID)
        inFlight.insert(peer)
        let request = HTTPClientRequest(
            method: "POST", target: MembershipPaths.heartbeat, headers: headers, body: Array(body), isIdempotent: true)
        client.send(request, to: endpoint, timeout: timing.requestTimeout) { [weak self] result in
            guard let self else { return }
            self.inFlight.remove(peer)
            let now = self.loop.now
            switch result {
            case .success(let response) where response.status == 200:
                guard let reply = try? self.decoder.decode(Heartbeat.self, from: Data(response.body)),
                    reply.node == peer
                else {
                    self.warnOnce("wrong-node-\(peer)", "the node at \(endpoint) is not \(peer): check the peer list")
                    self.apply(
                        self.detector.callFailed(to: peer, reason: "a different node answers at \(endpoint)", at: now),
                        now: now)
                    return
                }
                self.reported[peer] = reply
                self.apply(self.detector.heard(from: peer, incarnation: reply.incarnation, at: now), now: now)
            case .success(let response):
                let reason = "heartbeat answered HTTP \(response.status): \(response.bodyText.prefix(200))"
                if response.status == 403 || response.status == 409 {
                    self.warnOnce("status-\(peer)-\(response.status)", "\(peer) refuses our heartbeats: \(reason)")
                }
                self.apply(
                    self.detector.callFailed(to: peer, reason: "heartbeat answered HTTP \(response.status)", at: now),
                    now: now)
            case .failure(let error):
                self.apply(self.detector.callFailed(to: peer, reason: error.description, at: now), now: now)
            }
        }
    }

    private func apply(_ transitions: [FailureDetector.Transition], now: Instant) {
        for transition in transitions {
            let silence = transition.peer.flatMap { detector.silence(of: $0, now: now) }
            if case .online(let peer, _, _) = transition { warned = warned.filter { !$0.hasSuffix("-\(peer)") } }
            emit(transition.event(source: me, silence: silence))
        }
    }

    private func warnOnce(_ key: String, _ message: String) {
        guard !warned.contains(key) else { return }
        warned.insert(key)
        log.warn(message)
    }

    // MARK: Serving (requests already authenticated by the router)

    /// `POST /_dc/v1/heartbeat`: record the sender as alive and answer with our own heartbeat.
    /// `caller`: who signed the request; a heartbeat speaks only for its signer.
    public func handleHeartbeat(_ request: HTTPServerRequest, _ response: HTTPServerResponse, caller: String) {
        if isLeaving {
            respond(response, 503, "\(me) is stopping")
            return
        }
        if let theirs = request.head.headers[Membership.clusterIDHeader], theirs != clusterID {
            respond(
                response, 409,
                "this node belongs to another cluster (\(clusterID), the sender's is \(theirs)): check the peer lists")
            return
        }
        request.readBody(limit: Membership.heartbeatBytesMax) { [weak self] result in
            guard let self else { return }
            if case .failure(let error) = result { return self.respond(response, error.status, error.description) }
            guard case .success(let body) = result,
                let heartbeat = try? self.decoder.decode(Heartbeat.self, from: Data(body))
            else {
                self.respond(response, 400, "a heartbeat must be a JSON Heartbeat object")
                return
            }
            guard heartbeat.node.rawValue == caller else {
                self.respond(response, 403, Membership.impersonation(caller: caller, claimed: heartbeat.node))
                return
            }
            guard self.endpoints[heartbeat.node] != nil else {
                self.respond(response, 409, "\(heartbeat.node) is not a member of this cluster: check the peer lists")
                return
            }
            let now = self.loop.now
            self.reported[heartbeat.node] = heartbeat
            self.apply(self.detector.heard(from: heartbeat.node, incarnation: heartbeat.incarnation, at: now), now: now)
            let reply = (try? self.encoder.encode(self.ownHeartbeat())).map(Array.init) ?? []
            response.send(status: 200, headers: ["Content-Type": "application/json"], body: reply)
        }
    }

    /// `POST /_dc/v1/leave`: the sender is stopping gracefully.
    public func handleLeave(_ request: HTTPServerRequest, _ response: HTTPServerResponse, caller: String) {
        request.readBody(limit: Membership.leaveBytesMax) { [weak self] result in
            guard let self else { return }
            if case .failure(let error) = result { return self.respond(response, error.status, error.description) }
            guard case .success(let body) = result,
                let notice = try? self.decoder.decode(LeaveNotice.self, from: Data(body)),
                self.endpoints[notice.node] != nil
            else {
                self.respond(response, 400, "a leave notice must name a member of this cluster")
                return
            }
            guard notice.node.rawValue == caller else {
                self.respond(response, 403, Membership.impersonation(caller: caller, claimed: notice.node))
                return
            }
            let now = self.loop.now
            self.apply(self.detector.left(notice.node, incarnation: notice.incarnation, at: now), now: now)
            response.send(status: 204)
        }
    }

    /// The refusal of a message signed by one caller that speaks for another node.
    static func impersonation(caller: String, claimed: NodeID) -> String {
        "signed by \(caller) but speaks for \(claimed): a node speaks only for itself"
    }

    /// Tells every peer we are stopping (and stops heartbeating); completes once, when all answered or
    /// `timeout` passed.
    public func announceLeave(timeout: Duration, completion: @escaping () -> Void) {
        isLeaving = true
        let targets = peers.filter { detector.state(of: $0.id) != .offline }.compactMap { p in
            endpoints[p.id].map { (p.id, $0) }
        }
        guard let body = try? encoder.encode(LeaveNotice(node: me, incarnation: incarnation)), !targets.isEmpty else {
            completion()
            return
        }
        var waiting = targets.count
        var finished = false
        for (_, endpoint) in targets {
            var headers = key.sign(
                method: "POST", target: MembershipPaths.leave, caller: me.rawValue, body: Array(body),
                nonce: .next(to: endpoint.description))
            headers.add("Content-Type", "application/json")
            let request = HTTPClientRequest(
                method: "POST", target: MembershipPaths.leave, headers: headers, body: Array(body))
            client.send(request, to: endpoint, timeout: timeout) { _ in
                waiting -= 1
                if waiting == 0 && !finished {
                    finished = true
                    completion()
                }
            }
        }
    }

    private func respond(_ response: HTTPServerResponse, _ status: Int, _ message: String) {
        response.send(
            status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array((message + "\n").utf8))
    }
}
