import Core
import Loop
import Storage

extension EventKind {
    /// A shard failed its checksum (on read, or in the scanner's pass).
    public static let bitrotDetected = EventKind("bitrot_detected")
    /// A node began rebuilding its empty data folder from its peers.
    public static let healStarted = EventKind("heal_started")
    public static let healProgress = EventKind("heal_progress")
    public static let healFinished = EventKind("heal_finished")
}

/// This node's heal queue: objects to make whole again, from missed writes it holds for peers that
/// are back, reads that had to work around a shard, and the scanner. Each object is queued once;
/// a heal that cannot finish is retried with back-off. Loop-bound; driven by `tick`.
public final class Healer {
    public struct Limits: Sendable {
        /// Objects waiting at most; past it, new work is refused (the scanner finds it again).
        public var queueCountMax = 10_000
        /// Heals running at once (each reads k shards and writes one, a block at a time).
        public var jobsMax = 4
        /// Attempts before a heal is given up on until the next scan.
        public var attemptsMax = 8
        /// How long a missed write waits, per rank, for the holders before this one to replay it.
        public var holderRankDelay: Duration = .seconds(5)
        public init() {}
    }

    public struct Stats: Sendable, Equatable {
        public var queued = 0
        public var running = 0
        public var healed = 0
        public var removed = 0
        public var failed = 0
        /// Missed writes this node holds for peers, still to replay.
        public var missedPending = 0
    }

    struct Task {
        var request: HealRequest
        var reason: String
        var attempts = 0
        var notBefore: Instant
        /// Missed-write entries this heal settles, per peer.
        var missed: [NodeID: Set<String>] = [:]
        /// The other nodes that hold those entries (told once they are settled).
        var holders: Set<NodeID> = []
    }

    let layer: ObjectLayer
    let local: LocalStore
    var disk: Disk { local.disk }
    let me: NodeID
    let limits: Limits
    /// Whether a peer is online now, and since when (for the rank delay of replays).
    let onlineSince: (NodeID) -> Instant?
    let log: Logger
    let emit: (Event) -> Void
    private var tasks: [String: Task] = [:]
    private var order: [String] = []
    private var running: Set<String> = []
    public private(set) var stats = Stats()
    private var nextMissedScan: Instant?
    static let missedScanInterval: Duration = .seconds(1)

    public init(
        layer: ObjectLayer, local: LocalStore, limits: Limits = .init(), log: Logger,
        onlineSince: @escaping (NodeID) -> Instant?, emit: @escaping (Event) -> Void
    ) {
        self.layer = layer
        self.local = local
        self.me = local.id
        self.limits = limits
        self.log = log
        self.onlineSince = onlineSince
        self.emit = emit
    }

    /// Queues an object (merged with a heal already queued for it). False when the queue is full.
    @discardableResult
    public func enqueue(
        _ request: HealRequest, reason: String, missed: [NodeID: Set<String>] = [:], holders: Set<NodeID> = [],
        now: Instant
    ) -> Bool {
        let id = Healer.taskID(request)
        if var task = tasks[id] {
            task.request.corrupt.formUnion(request.corrupt)
            task.request.only = task.request.only.flatMap { a in request.only.map { a.union($0) } }
            task.request.removedBefore = [task.request.removedBefore, request.removedBefore].compactMap { $0 }.max()
            for (peer, ids) in missed { task.missed[peer, default: []].formUnion(ids) }
            task.holders.formUnion(holders)
            tasks[id] = task
            return true
        }
        guard tasks.count < limits.queueCountMax else { return false }
        tasks[id] = Task(request: request, reason: reason, notBefore: now, missed: missed, holders: holders)
        order.append(id)
        stats.queued = tasks.count
        return true
    }

    /// One task per object version (nil: the latest).
    static func taskID(_ r: HealRequest) -> String { r.bucket + "/" + r.key + "?" + (r.versionID ?? "") }

    public func tick(now: Instant) {
        if nextMissedScan.map({ now >= $0 }) ?? true {
            nextMissedScan = now + Healer.missedScanInterval
            replayMissed(now: now)
        }
        startDue(now: now)
    }

    /// Queues the missed writes this node holds for peers that are online, when it is their turn:
    /// the first online holder at once, the next after `holderRankDelay`, and so on (a replay finds
    /// the work done and only settles the entry).
    private func replayMissed(now: Instant) {
        let pending = disk.pendingMissed()
        stats.missedPending = pending.count
        for entry in pending {
            let onlineHolders = entry.holders.map { NodeID($0) }.filter { $0 == me || onlineSince($0) != nil }
            guard let rank = onlineHolders.firstIndex(of: me) else { continue }
            for peer in entry.peers.map({ NodeID($0) }) {
                guard let since = onlineSince(peer), now.since(since) >= limits.holderRankDelay * Int64(rank)
                else { continue }
                var request = HealRequest(bucket: entry.bucket, key: entry.key)
                request.versionID = entry.versionID
                request.only = [peer]
                if entry.isDelete { request.removedBefore = entry.time }
                let others = Set(entry.holders.map { NodeID($0) }).subtracting([me])
                enqueue(request, reason: "missed write", missed: [peer: [entry.id]], holders: others, now: now)
            }
        }
    }

    private func startDue(now: Instant) {
        var i = 0
        while running.count < limits.jobsMax && i < order.count {
            let id = order[i]
            i += 1
            guard !running.contains(id), let task = tasks[id], task.notBefore <= now else { continue }
            run(id, task)
        }
        stats.running = running.count
    }

    private func run(_ id: String, _ task: Task) {
        running.insert(id)
        // What is queued for the object from now on is merged into a task of its own, after this one.
        tasks[id] = nil
        order.removeAll { $0 == id }
        layer.healObject(task.request) { [self] result in
            running.remove(id)
            finished(task, result)
            stats.queued = tasks.count
            stats.running = running.count
            startDue(now: layer.loop.iterationTime)
        }
    }

    private func finished(_ task: Task, _ result: Result<HealOutcome, ObjectError>) {
        let r = task.request
        let fields: [(String, JSONValue)] = [
            ("bucket", .string(r.bucket)), ("key", .string(r.key)), ("reason", .string(task.reason)),
        ]
        switch result {
        case .success(.healthy):
            settleMissed(task)
        case .success(.rebuilt(let nodes, let bytes)):
            stats.healed += 1
            log.info(
                "healed an object",
                fields + [("nodes", .array(nodes.map { .string($0.rawValue) })), ("bytes", .int(bytes))])
            settleMissed(task, healed: Set(nodes))
        case .success(.attributesSet(let nodes)):
            stats.healed += 1
            log.info(
                "gave copies their version's attributes",
                fields + [("nodes", .array(nodes.map { .string($0.rawValue) }))])
            settleMissed(task, healed: Set(nodes))
        case .success(.removed(let nodes)):
            stats.removed += 1
            log.info("removed stray copies", fields + [("nodes", .array(nodes.map { .string($0.rawValue) }))])
            settleMissed(task, healed: Set(nodes))
        case .success(.unrecoverable(let good, let needed)):
            stats.failed += 1
            log.error(
                "an object cannot be rebuilt: too few good shards",
                fields + [("good", .int(Int64(good))), ("needed", .int(Int64(needed)))])
        case .success(.undecided), .failure:
            retry(task, because: result)
        }
    }

    /// Marks missed entries replayed for the peers that are now whole (all of them when the object
    /// was found healthy).
    private func settleMissed(_ task: Task, healed: Set<NodeID>? = nil) {
        for (peer, ids) in task.missed where healed?.contains(peer) ?? true {
            // Here and on the other holders, so they need not find out for themselves.
            for holder in [me] + task.holders.sorted() {
                layer.store(holder).markMissedDone(Array(ids), peer: peer) { _ in }
            }
        }
    }

    private func retry(_ task: Task, because result: Result<HealOutcome, ObjectError>) {
        var next = task
        next.attempts += 1
        guard next.attempts < limits.attemptsMax else {
            stats.failed += 1
            log.warn(
                "gave up healing an object for now",
                [
                    ("bucket", .string(task.request.bucket)), ("key", .string(task.request.key)),
                    ("why", .string("\(result)")),
                ])
            return
        }
        // 1, 2, 4 ... 64 s: a node that is not back yet is not hammered.
        let delay = Duration.seconds(Int64(1) << min(next.attempts - 1, 6))
        next.notBefore = layer.loop.iterationTime + delay
        let id = Healer.taskID(task.request)
        if tasks[id] == nil {
            tasks[id] = next
            order.append(id)
        } else {
            tasks[id]!.attempts = next.attempts
            for (peer, ids) in next.missed { tasks[id]!.missed[peer, default: []].formUnion(ids) }
        }
    }
}
