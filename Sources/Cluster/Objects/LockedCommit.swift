import Core
import Loop
import Storage

/// The commit of a write whose data goes with it (a small object inline, a one-block object's shard
/// files, a delete marker), with the object's write lock taken in the same call: each node grants its share of the lock to this write and commits
/// at once (or answers `busy` when another write holds it, and does nothing), keeps the grant until
/// the write is settled, then gets it back in a call that goes with the next ones to that node
/// (`releaseSoon`). One call per node instead of a lock round followed by a commit round, with the
/// lock's guarantee: on every node, a write's commit and its undo happen while no other write of the
/// object can commit there. A write below write quorum takes its commits back first, then gives its
/// grants back; when other writes held nodes it waits a random while and tries again (as
/// `ObjectLock` does), up to `ObjectLock.waitMax`.
///
/// The write is stamped (its modification time, which orders versions) as its commit round starts, and
/// each node refuses a new write no later than the newest version it holds (`notNewest`): then the
/// write takes its commits back and is stamped again, after that version. So the write that commits last
/// is the object, whatever the clocks did, even for two writes within one millisecond. Loop-bound.
final class LockedCommit {
    /// Longer than a round and its undo can last (the stall limit, then a settle call's deadline), so
    /// a grant never expires under a write still deciding: no refresh is needed.
    static let ttl: Duration = .seconds(10)

    let layer: ObjectLayer
    let bucket: String
    let key: String
    /// The version committed: stamped anew for each round.
    private(set) var final: ObjectVersion
    let nodes: [Int]
    let resource: String
    let owner = Crypto.randomBytes(8).hexString
    private let deadline: Instant
    private var attempts = 0
    private var done: ((Result<ObjectVersion, ObjectError>) -> Void)?

    /// What each node's commit carries: its own frame, by the version's shard index.
    enum Payload {
        /// Inside the version's metadata (none for an empty object or a delete marker).
        case inline([ByteBuffer])
        /// As the shard file of the version's data folder (an object of one block).
        case shardFiles([ByteBuffer])
    }

    init(
        layer: ObjectLayer, bucket: String, key: String, final: ObjectVersion, on nodes: [Int],
        done: @escaping (Result<ObjectVersion, ObjectError>) -> Void
    ) {
        self.layer = layer
        self.bucket = bucket
        self.key = key
        self.final = final
        self.nodes = nodes
        self.done = done
        resource = ObjectLock.resource(bucket: bucket, key: key)
        deadline = layer.loop.iterationTime + ObjectLock.waitMax
    }

    func start(_ payload: Payload) {
        attempt(payload)
    }

    private func attempt(_ payload: Payload, after newest: Int64 = 0) {
        attempts += 1
        final.modTime = max(WallTime.now().millisecondsSinceEpoch, newest + 1)
        if case .shardFiles = payload, attempts > 1 {
            // A data folder of its own per attempt: a node whose commit of an earlier attempt landed after
            // its undo (or whose undo was lost) still holds that folder, and the staging of the next must
            // never meet it.
            final.dataDir = Crypto.randomBytes(16).hexString
        }
        let round = layer.round(
            nodes.map(layer.nodeID), enough: layer.set.writeQuorum, grace: ObjectLayer.shardWriteStallMax
        ) { [self] (answers: [NodeID: Result<LockedCommitAnswer, StoreError>]) in
            decide(answers, payload)
        }
        for node in nodes {
            let copy: ObjectVersion
            var shard: ByteBuffer?
            switch payload {
            case .inline(let frames): copy = layer.copy(of: final, for: node, source: .inline(frames))
            case .shardFiles(let frames):
                copy = layer.copy(of: final, for: node, source: .staged)
                shard = frames[copy.erasure!.index]
            }
            commit(copy, shard: shard, on: node) { [layer] result in round.answered(layer.nodeID(node), result) }
        }
    }

    /// Commits one node's copy. A node that lacks the bucket (it was down when the bucket was made,
    /// which a quorum of others agreed on) gets it made, and the commit once more (its grant is ours).
    private func commit(
        _ copy: ObjectVersion, shard: ByteBuffer?, on node: Int, retry: Bool = true,
        _ done: @escaping (Result<LockedCommitAnswer, StoreError>) -> Void
    ) {
        let store = layer.stores[node]
        store.lockedCommit(bucket: bucket, key: key, version: copy, shard: shard, owner: owner, ttl: LockedCommit.ttl) {
            [self] result in
            guard retry, case .failure(.storage(.bucketNotFound)) = result else { return done(result) }
            store.makeBucket(BucketInfo(name: bucket, created: WallTime.now().millisecondsSinceEpoch)) { [self] made in
                switch made {
                case .success, .failure(.storage(.bucketExists)):
                    commit(copy, shard: shard, on: node, retry: false, done)
                case .failure: done(result)
                }
            }
        }
    }

    private func decide(_ answers: [NodeID: Result<LockedCommitAnswer, StoreError>], _ payload: Payload) {
        var committed: [Int] = []
        var keepsReplaced: [Int] = []
        var busy: [Int] = []
        var newest: Int64?
        for (id, answer) in answers {
            switch answer {
            case .success(.committed(let receipt)):
                committed.append(layer.index(of: id))
                if receipt.keepsReplacedData { keepsReplaced.append(layer.index(of: id)) }
            case .success(.busy): busy.append(layer.index(of: id))
            case .failure(.storage(.notNewest(_, _, let n))): newest = max(newest ?? n, n)
            case .failure: break
            }
        }
        committed.sort()
        // Every node but the busy ones may hold a grant (a commit that timed out may have landed).
        let holders = nodes.filter { !busy.contains($0) }
        if let newest {
            // A node holds a version as new as this one: take the commits back, stamp it later, again.
            return layer.settle(bucket: bucket, key: key, final, on: holders, undo: true) { [self] in
                release(holders)
                guard layer.loop.iterationTime < deadline else {
                    return finish(.failure(.lockTimeout(resource: resource, waited: ObjectLock.waitMax)))
                }
                attempt(payload, after: newest)
            }
        }
        guard committed.count >= layer.set.writeQuorum else {
            return layer.settle(bucket: bucket, key: key, final, on: holders, undo: true) { [self] in
                release(holders)
                retryOrFail(answers, busy: busy, payload)
            }
        }
        layer.settle(bucket: bucket, key: key, final, on: keepsReplaced, undo: false) { [self] in release(holders) }
        let missed = MissedWrite(
            bucket: bucket, key: key, versionID: final.versionID, isDelete: false,
            nodes: layer.stores.indices.filter { !committed.contains($0) }.map(layer.nodeID))
        layer.journal(missed, holders: committed.map(layer.nodeID)) { [self] in finish(.success(final)) }
    }

    private func release(_ holders: [Int]) {
        for node in holders { layer.stores[node].releaseSoon(resource: resource, owner: owner) }
    }

    /// After a round below quorum: again, a random while later, when other writes held nodes and there
    /// is time left; else the failure.
    private func retryOrFail(
        _ answers: [NodeID: Result<LockedCommitAnswer, StoreError>], busy: [Int], _ payload: Payload
    ) {
        let reachable = nodes.count - answers.values.count { if case .failure = $0 { true } else { false } }
        guard !busy.isEmpty, reachable >= layer.set.writeQuorum else {
            return finish(
                .failure(
                    .writeQuorum(
                        reached: answers.values.count { if case .success(.committed) = $0 { true } else { false } },
                        needed: layer.set.writeQuorum, detail: ObjectLayer.summary(answers))))
        }
        guard layer.loop.iterationTime < deadline else {
            return finish(.failure(.lockTimeout(resource: resource, waited: ObjectLock.waitMax)))
        }
        do {
            let timer = try Timer(loop: layer.loop, label: "locked commit back-off")
            timer.start(after: ObjectLock.backOff(attempt: attempts)) { [self] in
                timer.close()
                attempt(payload)
            }
        } catch {
            finish(.failure(.internalError("cannot wait to try the commit again: \(error)")))
        }
    }

    private func finish(_ result: Result<ObjectVersion, ObjectError>) {
        let done = self.done
        self.done = nil
        done?(result)
    }
}
