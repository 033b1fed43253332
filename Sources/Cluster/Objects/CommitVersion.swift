import Core
import Loop
import Storage

/// Where the data of a version being committed is, on each node.
enum CommitSource {
    /// In the staged shard file named by the version's data folder.
    case staged
    /// Inside the metadata: each node's frames, by shard index (none for an empty object).
    case inline([ByteBuffer])
    /// In the folder of a completed multipart upload.
    case upload(String)
}

extension ObjectLayer {
    /// The newest version of the object that a read quorum holds (a delete marker too; nil when there is
    /// none). Read under the object's write lock, it is what a new write is stamped after and what its
    /// conditions are judged against.
    func currentVersion(
        bucket: String, key: String, _ done: @escaping (Result<ObjectVersion?, ObjectError>) -> Void
    ) {
        headObject(bucket: bucket, key: key) { result in
            switch result {
            case .success(let object): done(.success(object.version))
            case .failure(.noSuchKey): done(.success(nil))
            case .failure(let e): done(.failure(e))
            }
        }
    }

    /// The modification time of a write committed now: the clock's, and later than the version it
    /// follows, whatever the clocks did (versions are ordered by their commits).
    static func stamp(after current: ObjectVersion?) -> Int64 {
        max(WallTime.now().millisecondsSinceEpoch, (current?.modTime ?? 0) + 1)
    }

    /// Commits `final` on `nodes` (each gets its own shard index and inline frames) and succeeds with
    /// the nodes that committed once write quorum did. Below quorum the write is taken back from every
    /// node asked (a commit that timed out may still have landed), restoring what it replaced, and only
    /// then fails: so no read finds a write its client was told failed, and the previous version keeps
    /// its redundancy. Nodes that kept replaced data are told to drop it; missed nodes are reported.
    /// `handOff`: the write lock's grant each node gives back once its commit is done.
    func commitVersion(
        bucket: String, key: String, _ final: ObjectVersion, on nodes: [Int], source: CommitSource,
        handOff: LockRelease? = nil, _ done: @escaping (Result<[Int], ObjectError>) -> Void
    ) {
        var settleLater: [Int] = []
        let round = round(nodes.map(nodeID), enough: set.writeQuorum, grace: ObjectLayer.shardWriteStallMax) {
            [self] (answers: [NodeID: Result<CommitReceipt, StoreError>]) in
            var committed: [Int] = []
            for (id, answer) in answers {
                guard case .success(let receipt) = answer else { continue }
                committed.append(index(of: id))
                if receipt.keepsReplacedData { settleLater.append(index(of: id)) }
            }
            committed.sort()
            guard committed.count >= set.writeQuorum else {
                let error = ObjectError.writeQuorum(
                    reached: committed.count, needed: set.writeQuorum, detail: ObjectLayer.summary(answers))
                return settle(bucket: bucket, key: key, final, on: nodes, undo: true) { done(.failure(error)) }
            }
            settle(bucket: bucket, key: key, final, on: settleLater.filter(committed.contains), undo: false) {}
            let missed = MissedWrite(
                bucket: bucket, key: key, versionID: final.versionID, isDelete: false,
                nodes: stores.indices.filter { !committed.contains($0) }.map(nodeID))
            journal(missed, holders: committed.map(nodeID)) { done(.success(committed)) }
        }
        for node in nodes {
            commit(
                bucket: bucket, key: key, copy(of: final, for: node, source: source), on: node, source: source,
                handOff: handOff
            ) { [self] result in
                round.answered(nodeID(node), result)
            }
        }
    }

    /// Node `node`'s copy of a version: its own shard index, and its own frame when the data is inline.
    func copy(of final: ObjectVersion, for node: Int, source: CommitSource) -> ObjectVersion {
        var copy = final
        let shard = final.erasure?.distribution[node] ?? 0
        copy.erasure?.index = shard
        if case .inline(let frames) = source {
            copy.inline = frames.isEmpty ? [] : frames[shard].array
        }
        return copy
    }

    /// Commits one node's copy. A node that lacks the bucket (it was down when the bucket was made,
    /// which a quorum of others agreed on) gets it made, and the commit once more.
    func commit(
        bucket: String, key: String, _ copy: ObjectVersion, on node: Int, source: CommitSource,
        handOff: LockRelease? = nil, retry: Bool = true, _ done: @escaping (Result<CommitReceipt, StoreError>) -> Void
    ) {
        let store = stores[node]
        var staged: String?
        var upload: String?
        switch source {
        case .staged: staged = copy.dataDir
        case .upload(let id): upload = id
        case .inline: break
        }
        store.commit(
            bucket: bucket, key: key, version: copy, stagedUploadID: staged, multipartUploadID: upload,
            releasing: handOff
        ) { [self] result in
            guard retry, case .failure(.storage(.bucketNotFound)) = result else { return done(result) }
            store.makeBucket(BucketInfo(name: bucket, created: WallTime.now().millisecondsSinceEpoch)) { [self] made in
                switch made {
                case .success, .failure(.storage(.bucketExists)):
                    commit(
                        bucket: bucket, key: key, copy, on: node, source: source, handOff: handOff, retry: false, done)
                case .failure: done(result)
                }
            }
        }
    }

    /// Records a write some nodes missed in the durable journal of every node that took it, before the
    /// write is acknowledged: any of them can replay it on the missed nodes once they are back, even
    /// after restarting itself. Waits for one holder to have it durably (and the others a moment more).
    func journal(_ missed: MissedWrite, holders: [NodeID], then: @escaping () -> Void) {
        guard !missed.nodes.isEmpty else { return then() }
        onMissedWrite?(missed)
        let entry = MissedEntry(
            id: Crypto.randomBytes(8).hexString, bucket: missed.bucket, key: missed.key,
            versionID: missed.versionID, isDelete: missed.isDelete, peers: missed.nodes.map(\.rawValue),
            holders: holders.sorted().map(\.rawValue), time: WallTime.now().millisecondsSinceEpoch)
        let round = NodeRound<Void>(
            nodes: holders, enough: 1, grace: ObjectLayer.metadataStragglerWait, watch: stragglers,
            counts: { (try? $0.get()) != nil }
        ) { _ in then() }
        for id in holders { store(id).recordMissed([entry]) { round.answered(id, $0) } }
    }

    /// Tells nodes the outcome of a write (see `Disk.settle`), then calls `then` once all answered. A
    /// node that misses it keeps the replaced version's data until the object's next write settles it.
    func settle(
        bucket: String, key: String, _ write: ObjectVersion, on nodes: [Int], undo: Bool,
        then: @escaping () -> Void
    ) {
        guard !nodes.isEmpty else { return then() }
        var waiting = nodes.count
        for node in nodes {
            stores[node].settle(bucket: bucket, key: key, write: write, undo: undo) { _ in
                waiting -= 1
                if waiting == 0 { then() }
            }
        }
    }
}
