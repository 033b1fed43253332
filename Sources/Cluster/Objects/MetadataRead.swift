import Core
import Loop
import Storage

/// The metadata round of one read (GET, HEAD, a copy's source): it asks the first nodes only
/// (`Quorum.firstReaders`: this node, then fast holders of data shards), and when their answers agree
/// (`Quorum.resolveEarly`) the read is decided without the others. Otherwise (a disagreement, a failed
/// or missing answer, or no answer within `firstWait`) it asks every other reachable node too and
/// goes on as a full fan-out (`ObjectLayer.fanOut`'s rules: stragglers get a grace, known-slow ones
/// none when the answers in settle the read). Every answer's time is recorded in the layer's
/// latency. Loop-bound.
final class MetadataRead: StallChecked {
    /// How long the first nodes get before the others are asked as well.
    static let firstWait: Duration = .milliseconds(50)

    let layer: ObjectLayer
    let bucket: String
    let key: String
    let versionID: String?
    /// Reachable nodes not being rebuilt, in the order they are asked.
    let order: [ShardStore]
    private var done: (([NodeID: Result<ObjectMetadata, StoreError>], Set<NodeID>) -> Void)?
    private var answers: [NodeID: Result<ObjectMetadata, StoreError>] = [:]
    private var waiting: Set<NodeID> = []
    private let began: Instant
    /// The full round, once the others were asked.
    private var round: NodeRound<ObjectMetadata>?

    /// `done` gets every answer, and the nodes not asked (the first ones decided).
    init(
        layer: ObjectLayer, bucket: String, key: String, versionID: String?,
        done: @escaping ([NodeID: Result<ObjectMetadata, StoreError>], Set<NodeID>) -> Void
    ) {
        self.layer = layer
        self.bucket = bucket
        self.key = key
        self.versionID = versionID
        self.done = done
        began = layer.loop.now
        order = layer.readOrder(bucket: bucket, key: key)
    }

    func start() {
        let first = Quorum.firstReaders(set: layer.set)
        guard order.count > first else { return askEveryone() }
        layer.probeSlowNodes(bucket: bucket, key: key, skipping: order.prefix(first).map(\.id))
        ask(Array(order.prefix(first)))
        // Answers can all be in already (cached on this node): then the round is over.
        if done != nil && round == nil && !waiting.isEmpty { layer.stragglers.add(self) }
    }

    private func ask(_ stores: [ShardStore]) {
        for store in stores { waiting.insert(store.id) }
        for store in stores {
            store.readMetadata(bucket: bucket, key: key) { [self] result in answered(store.id, result) }
        }
    }

    private func answered(_ node: NodeID, _ result: Result<ObjectMetadata, StoreError>) {
        // Late answers too: they are how a slow node is seen to be slow, and then fast again.
        if result.isDefinite { layer.latency.record(node, layer.loop.now.since(began)) }
        if let round { return round.answered(node, result) }
        guard done != nil, waiting.remove(node) != nil else { return }
        answers[node] = result
        guard waiting.isEmpty else { return }
        layer.stragglers.remove(self)
        if Quorum.resolveEarly(answers, set: layer.set, versionID: versionID) != nil {
            let asked = Set(answers.keys)
            return finish(answers, unasked: Set(layer.stores.map(\.id).filter { !asked.contains($0) }))
        }
        askEveryone()
    }

    func checkStall(now: Instant) {
        guard done != nil, round == nil, now.since(began) >= MetadataRead.firstWait else { return }
        layer.stragglers.remove(self)
        askEveryone()
    }

    /// Turns the read into a full fan-out: the answers in count, the nodes still awaited stay awaited,
    /// every other reachable node is asked.
    private func askEveryone() {
        layer.stragglers.remove(self)
        let known = answers
        let awaited = waiting
        let rest = order.filter { known[$0.id] == nil && !awaited.contains($0.id) }
        round = layer.readRound(nodes: order.map(\.id), versionID: versionID) { [self] all in
            finish(all, unasked: [])
        }
        for (node, answer) in known { round?.answered(node, answer) }
        ask(rest)
    }

    private func finish(_ answers: [NodeID: Result<ObjectMetadata, StoreError>], unasked: Set<NodeID>) {
        guard let done else { return }
        self.done = nil
        var all = answers
        for store in layer.stores where all[store.id] == nil && !unasked.contains(store.id) {
            all[store.id] = .failure(
                .unreachable("\(store.id) is \(layer.healingNodes.contains(store.id) ? "healing" : "offline")"))
        }
        done(all, unasked)
    }
}

extension ObjectLayer {
    /// The nodes a read of `bucket/key` asks, in order: this node (its answer costs no message), then
    /// the holders of data shards (their frames decode by copying), then parity holders; nodes known
    /// to be slow last. Offline nodes and nodes being rebuilt are left out.
    func readOrder(bucket: String, key: String) -> [ShardStore] {
        let distribution = set.distribution(bucket: bucket, key: key)
        let k = set.readQuorum
        let candidates = stores.indices.filter {
            isReachable(stores[$0].id) && !healingNodes.contains(stores[$0].id)
        }
        let ranked = candidates.sorted { a, b in
            func rank(_ i: Int) -> (Int, Int, Int) {
                (isSlow(stores[i].id) ? 1 : 0, stores[i] is LocalStore ? 0 : 1, distribution[i] < k ? 0 : 1)
            }
            let (ra, rb) = (rank(a), rank(b))
            return ra != rb ? ra < rb : distribution[a] < distribution[b]
        }
        return ranked.map { stores[$0] }
    }

    /// The full round of a read's metadata calls to `nodes` (`fanOutRound`): a known-slow straggler is
    /// not waited for when the answers in decide the read with a spare holder (a shard to read if one
    /// of the others turns out bad).
    func readRound(
        nodes: [NodeID], versionID: String?,
        _ end: @escaping ([NodeID: Result<ObjectMetadata, StoreError>]) -> Void
    ) -> NodeRound<ObjectMetadata> {
        fanOutRound(
            nodes: nodes,
            endsEarly: { [self] waiting, answers in
                guard waiting.allSatisfy(isSlow) else { return false }
                switch Quorum.resolve(answers, set: set, versionID: versionID) {
                case .found(_, let holders): return holders.count > set.readQuorum
                case .notFound, .noSuchBucket: return true
                case .unavailable: return false
                }
            }, end)
    }

    /// Reads route around slow nodes, so they would never be timed again: one metadata call a
    /// second to each slow node not asked otherwise keeps its time current (its answer is only timed).
    func probeSlowNodes(bucket: String, key: String, skipping asked: [NodeID]) {
        let now = loop.iterationTime
        for store in stores where !asked.contains(store.id) && isSlow(store.id) && isReachable(store.id) {
            if let last = lastProbe[store.id], now.since(last) < ObjectLayer.slowProbeInterval { continue }
            lastProbe[store.id] = now
            let began = loop.now
            store.readMetadata(bucket: bucket, key: key) { [self] result in
                if result.isDefinite { latency.record(store.id, loop.now.since(began)) }
            }
        }
    }

    /// The copies of `version` that `nodes` hold (each with its shard), and the nodes among them that
    /// did not answer in time (online, but not known to lack it).
    func copies(
        of version: ObjectVersion, bucket: String, key: String, from nodes: Set<NodeID>,
        _ done: @escaping ([NodeID: ObjectVersion], Set<NodeID>) -> Void
    ) {
        let asked = stores.filter { nodes.contains($0.id) && isReachable($0.id) && !healingNodes.contains($0.id) }
        let round = fanOutRound(nodes: asked.map(\.id)) { (answers: [NodeID: Result<ObjectMetadata, StoreError>]) in
            var copies: [NodeID: ObjectVersion] = [:]
            var late: Set<NodeID> = []
            for (node, answer) in answers {
                switch answer {
                case .success(let metadata):
                    if let copy = metadata.versions.first(where: { $0.sameWrite(as: version) }) { copies[node] = copy }
                case .failure(.unreachable): late.insert(node)
                case .failure: break
                }
            }
            done(copies, late)
        }
        let began = loop.now
        for store in asked {
            store.readMetadata(bucket: bucket, key: key) { [self] result in
                if result.isDefinite { latency.record(store.id, loop.now.since(began)) }
                round.answered(store.id, result)
            }
        }
    }
}
