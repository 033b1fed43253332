import Core
import Erasure
import Loop
import Storage

/// The erasure-coded object store over all nodes of the set: buckets, writes, reads, deletes and
/// listings, each with its quorum (DESIGN.md section 4). Any node runs it for the requests it receives.
/// Loop-bound.
public final class ObjectLayer {
    public let set: ErasureSet
    /// One store per node, in node order (`stores[i]` is node i + 1); one of them is local.
    let stores: [ShardStore]
    public let loop: EventLoop
    /// Hashing and erasure coding (CPU-bound: few jobs at once, so the loop keeps its core).
    let coding: WorkQueue
    /// Whether a peer is worth calling now (the failure detector's view); offline peers count as failed
    /// at once instead of after a timeout.
    let isReachable: (NodeID) -> Bool
    let coders: BlockCoderCache
    let stragglers: StragglerWatch
    /// Nodes being rebuilt from an empty data folder (this one, or peers that say so in their
    /// heartbeats): written to, healed, but never a source of good data. Asked at each use, so a node
    /// that has just become whole is read from at once (a set refreshed on the node's tick lagged
    /// behind its own health check by up to a tick).
    public var healing: () -> Set<NodeID> = { [] }
    var healingNodes: Set<NodeID> { healing() }
    var knownBuckets: [String: (seen: Instant, info: BucketInfo)] = [:]
    static let bucketCacheTime: Duration = .seconds(5)
    /// A shard that delivers nothing of a block for this long is read around (from parity) for the rest
    /// of that read, so a paused or partitioned node costs a GET this much once, not a stream timeout.
    public static let shardReadStallMax: Duration = .seconds(1)
    /// A node that takes none of a write's frames for this long is dropped from the write (recorded as
    /// missed), so one stalled node does not hold every PUT to the stream timeout.
    public static let shardWriteStallMax: Duration = .seconds(2)
    /// Objects whose shard file would be this small or smaller live inside their metadata.
    public static let inlineShardBytesMax: Int64 = 128 << 10

    /// How fast each node has answered lately, and whether reads route around the slow ones
    /// (`cluster.slowNodeAvoidance`): a read then does not wait for a slow node's metadata when the
    /// others decide it, takes its shards from the others, and gives up on a stalled shard sooner.
    public var latency = PeerLatency()
    public var avoidsSlowNodes = true
    /// When each slow node was last asked for a read's metadata only to time it (`probeSlowNodes`).
    var lastProbe: [NodeID: Instant] = [:]
    static let slowProbeInterval: Duration = .seconds(1)

    /// Called for every write a node missed while the write still reached quorum (the healing layer
    /// records them durably).
    public var onMissedWrite: ((MissedWrite) -> Void)?
    /// Called when a read had to rebuild or skip shards (missing, stale or corrupt).
    public var onDegradedRead: ((DegradedRead) -> Void)?

    public init(
        set: ErasureSet, stores: [ShardStore], loop: EventLoop, coding: WorkQueue,
        isReachable: @escaping (NodeID) -> Bool
    ) {
        precondition(stores.count == set.nodes, "one store per node")
        self.set = set
        self.stores = stores
        self.loop = loop
        self.coding = coding
        self.isReachable = isReachable
        self.coders = BlockCoderCache()
        self.stragglers = StragglerWatch(loop: loop)
    }

    public func nodeID(_ index: Int) -> NodeID { NodeID.forIndex(index) }
    func index(of id: NodeID) -> Int { stores.firstIndex { $0.id == id }! }

    /// Closes the layer's own timer and the stores' (the node is stopping; rounds still open are
    /// abandoned).
    public func close() {
        stragglers.close()
        for store in stores { store.close() }
    }

    // MARK: Fan-out

    /// How long the answers of a metadata fan-out wait for a straggler once enough nodes answered.
    public static let metadataStragglerWait: Duration = .seconds(1)

    /// A round of calls to `nodes` that ends when all answered, or `grace` after `enough` succeeded.
    func round<T>(
        _ nodes: [NodeID], enough: Int, grace: Duration,
        _ end: @escaping ([NodeID: Result<T, StoreError>]) -> Void
    ) -> NodeRound<T> {
        NodeRound(
            nodes: nodes, enough: enough, grace: grace, watch: stragglers, counts: { (try? $0.get()) != nil }, end: end)
    }

    /// Calls every reachable node at once and collects the answers (unreachable ones fail at once),
    /// in a `fanOutRound`. Nodes being rebuilt from empty are not asked (they count as unreachable:
    /// what they lack proves nothing), unless `includingHealing` (calls that change or heal the nodes).
    /// Every definite answer's time is recorded in `latency`. (Reads of an object's metadata go through
    /// `MetadataRead`, which asks fewer nodes when it can.)
    func fanOut<T>(
        includingHealing: Bool = false,
        _ call: (ShardStore, @escaping (Result<T, StoreError>) -> Void) -> Void,
        _ done: @escaping ([NodeID: Result<T, StoreError>]) -> Void
    ) {
        let healingNow = healingNodes
        let reachable = stores.filter { isReachable($0.id) && (includingHealing || !healingNow.contains($0.id)) }
        let round = fanOutRound(nodes: reachable.map(\.id)) {
            [stores, healing = healingNow] (answers: [NodeID: Result<T, StoreError>]) in
            var all = answers
            for store in stores where all[store.id] == nil {
                all[store.id] = .failure(
                    .unreachable("\(store.id) is \(healing.contains(store.id) ? "healing" : "offline")"))
            }
            done(all)
        }
        let began = loop.now
        for store in reachable {
            call(store) { [self] result in
                // Late answers too: they are how a slow node is seen to be slow, and then fast again.
                if result.isDefinite { latency.record(store.id, loop.now.since(began)) }
                round.answered(store.id, result)
            }
        }
    }

    /// The round of a fan-out to `nodes`: it ends when all answered, or `metadataStragglerWait` after a
    /// definite answer from enough nodes that any write quorum overlaps them in a read quorum
    /// (N + R - W of them); at once when `endsEarly` says the nodes still awaited add nothing needed.
    func fanOutRound<T>(
        nodes: [NodeID],
        endsEarly: @escaping (Set<NodeID>, [NodeID: Result<T, StoreError>]) -> Bool = { _, _ in false },
        _ end: @escaping ([NodeID: Result<T, StoreError>]) -> Void
    ) -> NodeRound<T> {
        let enough = min(stores.count, max(set.readQuorum, stores.count + set.readQuorum - set.writeQuorum))
        return NodeRound<T>(
            nodes: nodes, enough: enough, grace: ObjectLayer.metadataStragglerWait, watch: stragglers,
            counts: { $0.isDefinite }, endsEarly: endsEarly, end: end)
    }

    /// Blocks up to this size are hashed and coded on the loop thread: a thread-pool round trip (two
    /// wake-ups) costs more than the work (an MD5 of 32 KiB takes about 50 us).
    static let loopCodingBytesMax = 32 << 10

    /// Runs hashing or coding of a block of `bytes`: on the loop at once when it is small, else on the
    /// coding queue (throws when that is full).
    func code<T: Sendable>(
        bytes: Int, _ work: @escaping @Sendable () -> T, then done: @escaping (Result<T, WorkQueue.Failure>) -> Void
    ) throws(WorkQueue.Failure) {
        if bytes <= ObjectLayer.loopCodingBytesMax { return done(.success(work())) }
        try coding.submit(work, then: done)
    }

    /// How long a shard may deliver nothing before a read goes around it.
    var shardStall: Duration {
        avoidsSlowNodes ? latency.shardStall(max: ObjectLayer.shardReadStallMax) : ObjectLayer.shardReadStallMax
    }

    /// Whether reads should take their shards from other nodes than this one.
    func isSlow(_ node: NodeID) -> Bool { avoidsSlowNodes && latency.isSlow(node) }

    // MARK: Buckets

    /// Makes a bucket (`versioning` and `settings`: one made with object lock on).
    public func makeBucket(
        _ name: String, versioning: String? = nil, settings: BucketSettings = BucketSettings(),
        _ done: @escaping (Result<Void, ObjectError>) -> Void
    ) {
        do throws(StorageError) {
            try BucketName.validate(name)
        } catch {
            return done(.failure(.from(error)))
        }
        let info = BucketInfo(
            name: name, created: WallTime.now().millisecondsSinceEpoch, versioning: versioning, settings: settings)
        fanOut(includingHealing: true, { $0.makeBucket(info, $1) }) { [self] answers in
            let made = answers.filter { (try? $0.value.get()) != nil }.map(\.key)
            let existed = answers.values.count { $0.failure == .storage(.bucketExists(name)) }
            if existed >= set.metadataQuorum { return done(.failure(.bucketAlreadyOwnedByYou(name))) }
            if made.count + existed >= set.metadataQuorum {
                knownBuckets[name] = nil
                return done(.success(()))
            }
            // Not enough nodes: undo what was made, so the bucket is not half there.
            for node in made { store(node).deleteBucket(name, force: true) { _ in } }
            done(
                .failure(
                    .writeQuorum(
                        reached: made.count + existed, needed: set.metadataQuorum, detail: Self.summary(answers))))
        }
    }

    public func bucketInfo(_ name: String, _ done: @escaping (Result<BucketInfo, ObjectError>) -> Void) {
        do throws(StorageError) {
            try BucketName.validate(name)
        } catch {
            return done(.failure(.from(error)))
        }
        fanOut({ $0.bucketInfo(name, $1) }) { [self] answers in
            switch Quorum.bucket(answers, set: set) {
            case .exists(let info):
                knownBuckets[name] = (loop.iterationTime, info)
                done(.success(info))
            case .missing:
                knownBuckets[name] = nil
                done(.failure(.noSuchBucket(name)))
            case .unavailable:
                done(
                    .failure(
                        .readQuorum(
                            answered: answers.values.count { $0.isDefinite }, needed: set.readQuorum,
                            detail: Self.summary(answers))))
            }
        }
    }

    /// The bucket, from a short-lived cache of recent confirmations (a bucket deleted meanwhile still
    /// fails the write at commit, on every node).
    public func requireBucket(_ name: String, _ done: @escaping (Result<BucketInfo, ObjectError>) -> Void) {
        if let known = knownBuckets[name], loop.iterationTime.since(known.seen) < ObjectLayer.bucketCacheTime {
            return done(.success(known.info))
        }
        bucketInfo(name, done)
    }

    /// Turns a bucket's versioning on (`Enabled`) or off for new writes (`Suspended`).
    public func setVersioning(_ name: String, _ status: String, _ done: @escaping (Result<Void, ObjectError>) -> Void) {
        requireBucket(name) { [self] found in
            if case .failure(let e) = found { return done(.failure(e)) }
            fanOut(includingHealing: true, { $0.setVersioning(name, status, $1) }) { [self] answers in
                knownBuckets[name] = nil
                let set = answers.values.count { (try? $0.get()) != nil }
                guard set >= self.set.metadataQuorum else {
                    return done(
                        .failure(
                            .writeQuorum(reached: set, needed: self.set.metadataQuorum, detail: Self.summary(answers))))
                }
                done(.success(()))
            }
        }
    }

    /// The version id a new write to this bucket gets: a fresh one with versioning enabled, else
    /// `null` (replacing the null version).
    static func versionID(for bucket: BucketInfo) -> String {
        bucket.versioningEnabled ? VersionID.make() : VersionID.null
    }

    public func listBuckets(_ done: @escaping (Result<[BucketInfo], ObjectError>) -> Void) {
        fanOut({ $0.listBuckets($1) }) { [self] answers in
            let lists = answers.values.compactMap { try? $0.get() }
            guard lists.count >= set.readQuorum else {
                return done(
                    .failure(.readQuorum(answered: lists.count, needed: set.readQuorum, detail: Self.summary(answers))))
            }
            var counts: [String: (Int, BucketInfo)] = [:]
            for list in lists {
                for b in list {
                    var info = counts[b.name]?.1 ?? b
                    info.settings = info.settings.merged(with: b.settings)
                    counts[b.name] = ((counts[b.name]?.0 ?? 0) + 1, info)
                }
            }
            done(.success(counts.values.filter { $0.0 >= set.readQuorum }.map(\.1).sorted { $0.name < $1.name }))
        }
    }

    /// DeleteBucket: only an empty bucket goes, and a bucket that holds noncurrent versions or delete
    /// markers is not empty.
    public func deleteBucket(_ name: String, _ done: @escaping (Result<Void, ObjectError>) -> Void) {
        listVersions(bucket: name, prefix: "", keyMarker: "", versionIDMarker: "", delimiter: nil, limit: 1) {
            [self] result in
            switch result {
            case .failure(let e): return done(.failure(e))
            case .success(let page) where !page.entries.isEmpty || !page.prefixes.isEmpty:
                return done(.failure(.bucketNotEmpty(name)))
            case .success: break
            }
            fanOut(includingHealing: true, { $0.deleteBucket(name, force: false, $1) }) { [self] answers in
                knownBuckets[name] = nil
                if answers.values.contains(where: { $0.failure == .storage(.bucketNotEmpty(name)) }) {
                    return done(.failure(.bucketNotEmpty(name)))
                }
                let gone = answers.values.count { r in
                    if case .success = r { return true }
                    return r.failure == .storage(.bucketNotFound(name))
                }
                if gone >= set.metadataQuorum { return done(.success(())) }
                done(.failure(.writeQuorum(reached: gone, needed: set.metadataQuorum, detail: Self.summary(answers))))
            }
        }
    }

    // MARK: Objects

    /// Resolves the object (latest, or one version) from a quorum of nodes' metadata.
    public func headObject(
        bucket: String, key: String, versionID: String? = nil,
        _ done: @escaping (Result<ResolvedObject, ObjectError>) -> Void
    ) {
        if let error = ObjectLayer.invalidName(bucket: bucket, key: key) { return done(.failure(error)) }
        MetadataRead(layer: self, bucket: bucket, key: key, versionID: versionID) { [self] answers, unasked in
            switch Quorum.resolve(answers, set: set, versionID: versionID) {
            case .found(let version, let holders):
                let healingNow = healingNodes
                done(
                    .success(
                        ResolvedObject(
                            bucket: bucket, key: key, version: version, holders: holders,
                            late: Set(
                                answers.compactMap { node, answer in
                                    guard case .failure(.unreachable) = answer, isReachable(node),
                                        !healingNow.contains(node)
                                    else { return nil }
                                    return node
                                }), unasked: unasked)))
            case .notFound:
                if let versionID {
                    return done(.failure(.noSuchVersion(bucket: bucket, key: key, versionID: versionID)))
                }
                done(.failure(.noSuchKey(bucket: bucket, key: key)))
            case .noSuchBucket:
                done(.failure(.noSuchBucket(bucket)))
            case .unavailable(let answered, let needed):
                done(.failure(.readQuorum(answered: answered, needed: needed, detail: Self.summary(answers))))
            }
        }
        .start()
    }

    /// What a delete did: removed a version, or (versioning on, no version named) added a delete marker.
    public struct DeleteOutcome: Sendable, Equatable {
        /// The version removed, or the delete marker's (nil for an unversioned bucket).
        public var versionID: String?
        /// The marker added, or the version removed by its id was one.
        public var isDeleteMarker: Bool
    }

    /// DeleteObject. With `versionID`, that version goes. Without, an unversioned bucket's object goes,
    /// and a versioned bucket gets a delete marker as its latest version (with its own version id when
    /// versioning is enabled, the null one when suspended). S3 answers success whether or not the object
    /// existed.
    public func deleteObject(
        bucket: String, key: String, versionID: String? = nil, bypassGovernance: Bool = false,
        _ done: @escaping (Result<DeleteOutcome, ObjectError>) -> Void
    ) {
        if let error = ObjectLayer.invalidName(bucket: bucket, key: key) { return done(.failure(error)) }
        locked(bucket: bucket, key: key, failed: { done(.failure($0)) }) { [self] lock in
            deleteLocked(bucket: bucket, key: key, versionID: versionID, bypassGovernance: bypassGovernance) {
                result in
                lock.release()
                done(result)
            }
        }
    }

    private func deleteLocked(
        bucket: String, key: String, versionID: String?, bypassGovernance: Bool,
        _ done: @escaping (Result<DeleteOutcome, ObjectError>) -> Void
    ) {
        if let versionID {
            // The version as it is (under its write lock: no change slips in) decides under object lock,
            // and tells whether a delete marker goes (S3 says so in its answer).
            return requireBucket(bucket) { [self] found in
                // Whether object lock holds must be known: a bucket record that cannot be read refuses.
                if case .failure(let e) = found, e != .noSuchBucket(bucket) { return done(.failure(e)) }
                let lockEnabled = (try? found.get())?.settings.objectLock?.value?.enabled == true
                headObject(bucket: bucket, key: key, versionID: versionID) { [self] result in
                    var wasMarker = false
                    switch result {
                    case .success(let object):
                        if lockEnabled,
                            let refusal = ObjectLockRules.deletion(
                                of: object.version, now: .now(), bypassGovernance: bypassGovernance)
                        {
                            return done(.failure(refusal))
                        }
                        wasMarker = object.version.isDeleteMarker
                    case .failure(.noSuchVersion), .failure(.noSuchKey): break
                    case .failure(let e): if lockEnabled { return done(.failure(e)) }
                    }
                    removeVersion(bucket: bucket, key: key, versionID: versionID) { result in
                        done(
                            result.map {
                                DeleteOutcome(
                                    versionID: versionID == VersionID.null ? nil : versionID, isDeleteMarker: wasMarker)
                            })
                    }
                }
            }
        }
        requireBucket(bucket) { [self] found in
            guard case .success(let info) = found else { return done(.failure(found.failure!)) }
            guard let status = info.versioning else {
                return removeVersion(bucket: bucket, key: key, versionID: VersionID.null) { result in
                    done(result.map { DeleteOutcome(versionID: nil, isDeleteMarker: false) })
                }
            }
            let nodes: [Int]
            do throws(ObjectError) {
                nodes = try writeTargets(among: stores.indices)
            } catch {
                return done(.failure(error))
            }
            // Under the lock: the marker is stamped after the object as it is.
            currentVersion(bucket: bucket, key: key) { [self] current in
                guard case .success(let current) = current else { return done(.failure(current.failure!)) }
                let g = set.geometry
                let marker = ObjectVersion(
                    versionID: status == "Enabled" ? VersionID.make() : VersionID.null,
                    modTime: ObjectLayer.stamp(after: current), size: 0, etag: "", isDeleteMarker: true,
                    erasure: ErasureInfo(
                        dataShards: g.dataShards, parityShards: g.parityShards, blockSize: g.blockSize, index: 0,
                        distribution: set.distribution(bucket: bucket, key: key)))
                commitVersion(bucket: bucket, key: key, marker, on: nodes, source: .inline([])) { result in
                    done(result.map { _ in DeleteOutcome(versionID: marker.versionID, isDeleteMarker: true) })
                }
            }
        }
    }

    /// Removes one version from every node (metadata quorum).
    func removeVersion(
        bucket: String, key: String, versionID: String, _ done: @escaping (Result<Void, ObjectError>) -> Void
    ) {
        fanOut(includingHealing: true, { $0.deleteVersion(bucket: bucket, key: key, versionID: versionID, $1) }) {
            [self] answers in
            var gone: [NodeID] = []
            var noBucket = 0
            for (node, r) in answers {
                switch r {
                case .success, .failure(.storage(.objectNotFound)), .failure(.storage(.versionNotFound)):
                    gone.append(node)
                case .failure(.storage(.bucketNotFound)): noBucket += 1
                default: break
                }
            }
            if noBucket >= set.metadataQuorum { return done(.failure(.noSuchBucket(bucket))) }
            guard gone.count >= set.metadataQuorum else {
                return done(
                    .failure(
                        .writeQuorum(reached: gone.count, needed: set.metadataQuorum, detail: Self.summary(answers))))
            }
            let missed = MissedWrite(
                bucket: bucket, key: key, versionID: versionID, isDelete: true,
                nodes: answers.keys.filter { !gone.contains($0) }.sorted())
            journal(missed, holders: gone) { done(.success(())) }
        }
    }

    public func list(
        bucket: String, prefix: String, marker: String, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, ObjectError>) -> Void
    ) {
        do throws(StorageError) {
            try BucketName.validate(bucket)
        } catch {
            return done(.failure(.from(error)))
        }
        fanOut({ $0.list(bucket: bucket, prefix: prefix, marker: marker, delimiter: delimiter, limit: limit, $1) }) {
            [self] answers in
            let pages = answers.values.compactMap { try? $0.get() }
            let noBucket = answers.values.count {
                if case .failure(.storage(.bucketNotFound)) = $0 { true } else { false }
            }
            if noBucket >= set.readQuorum && pages.count < set.readQuorum {
                return done(.failure(.noSuchBucket(bucket)))
            }
            guard pages.count >= set.readQuorum else {
                return done(
                    .failure(.readQuorum(answered: pages.count, needed: set.readQuorum, detail: Self.summary(answers))))
            }
            done(.success(Quorum.mergeListings(pages, readQuorum: set.readQuorum, limit: limit)))
        }
    }

    // MARK: Helpers

    /// Why a bucket name or object key cannot be used, if it cannot (S3's naming rules).
    static func invalidName(bucket: String, key: String) -> ObjectError? {
        do throws(StorageError) {
            try BucketName.validate(bucket)
            try ObjectKey.validate(key)
            return nil
        } catch {
            return .from(error)
        }
    }

    func store(_ id: NodeID) -> ShardStore {
        stores.first { $0.id == id }!
    }

    /// "node2: unreachable: ...; node3: ..." for error messages.
    static func summary<T>(_ answers: [NodeID: Result<T, StoreError>]) -> String {
        let failures = answers.sorted { $0.key < $1.key }.compactMap { node, r -> String? in
            if case .failure(let e) = r { return "\(node): \(e)" }
            return nil
        }
        return failures.isEmpty ? "no node failed" : failures.joined(separator: "; ")
    }
}

extension Result where Failure == StoreError {
    /// An answer that counts toward a quorum (success or a definite error from the node).
    var isDefinite: Bool {
        switch self {
        case .success, .failure(.storage): true
        case .failure: false
        }
    }

    var failure: StoreError? {
        if case .failure(let e) = self { return e }
        return nil
    }
}

extension Result where Failure == ObjectError {
    var failure: ObjectError? {
        if case .failure(let e) = self { return e }
        return nil
    }
}

/// An object as a read quorum agreed on, with each holder's copy (its shard index, data folder, inline
/// shard).
public struct ResolvedObject: Sendable {
    public var bucket: String
    public var key: String
    public var version: ObjectVersion
    public var holders: [NodeID: ObjectVersion]
    /// Nodes online but not answered in time (slow, or stalled): not known to lack the object.
    public var late: Set<NodeID> = []
    /// Nodes not asked (the first ones asked agreed): a read short of shards asks them then.
    public var unasked: Set<NodeID> = []
}

/// A write (or delete) some nodes did not get although it reached quorum.
public struct MissedWrite: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var versionID: String
    public var isDelete: Bool
    public var nodes: [NodeID]
}

/// A read that had to work around missing, stale or corrupt shards.
public struct DegradedRead: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var versionID: String
    /// Shards that failed their checksum, by node.
    public var corrupt: [NodeID]
    /// Nodes that should hold the version and did not (missing, stale, unreachable).
    public var missing: [NodeID]
}

/// One `BlockCoder` per geometry, built once (its codec caches decode tables).
final class BlockCoderCache: @unchecked Sendable {
    private var coders: [ErasureGeometry: BlockCoder] = [:]

    /// Loop thread only; the coder itself is then used on pool threads.
    func coder(for geometry: ErasureGeometry) throws(ErasureCodec.Failure) -> BlockCoder {
        if let c = coders[geometry] { return c }
        let c = try BlockCoder(geometry: geometry)
        coders[geometry] = c
        return c
    }
}
