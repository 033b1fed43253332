import Core
import Erasure
import Loop
import Storage

/// What healing one object did.
public enum HealOutcome: Equatable, Sendable {
    case healthy
    /// Shards rebuilt on these nodes (`bytes`: the object's size).
    case rebuilt([NodeID], bytes: Int64)
    /// Stray copies removed from these nodes (the object is gone by quorum).
    case removed([NodeID])
    /// These nodes' copies took the version's newer attributes (tags, retention, legal hold).
    case attributesSet([NodeID])
    /// Too few good shards are left to rebuild it.
    case unrecoverable(good: Int, needed: Int)
    /// Too few nodes answered to decide; try again later.
    case undecided
}

/// What a heal is asked to do, beyond "make this object whole".
public struct HealRequest: Sendable, Equatable {
    public var bucket: String
    public var key: String
    /// The version to heal (nil: the latest).
    public var versionID: String?
    /// Nodes whose shard failed its checksum.
    public var corrupt: Set<NodeID> = []
    /// A missed delete at this time (ms since the epoch): older copies go at once.
    public var removedBefore: Int64?
    /// Heal only these nodes (nil: every node that needs it).
    public var only: Set<NodeID>?

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }
}

extension ObjectLayer {
    /// Heals one object: reads every node's metadata, plans (see `HealPlan`), then rebuilds the shards
    /// the plan names from the good ones, or removes stray copies. Nodes being rebuilt from empty are
    /// healed but never trusted as sources. It holds the object's write lock throughout, as a write
    /// does: a heal planned from a view that a concurrent delete has since changed would put a copy of
    /// the deleted object back (the chaos checker saw one read back that way).
    public func healObject(_ request: HealRequest, _ done: @escaping (Result<HealOutcome, ObjectError>) -> Void) {
        if let error = ObjectLayer.invalidName(bucket: request.bucket, key: request.key) {
            return done(.failure(error))
        }
        locked(bucket: request.bucket, key: request.key, failed: { done(.failure($0)) }) { [self] lock in
            healLocked(request) { result in
                lock.release()
                done(result)
            }
        }
    }

    private func healLocked(_ request: HealRequest, _ done: @escaping (Result<HealOutcome, ObjectError>) -> Void) {
        fanOut(includingHealing: true, { $0.readMetadata(bucket: request.bucket, key: request.key, $1) }) {
            [self] answers in
            let action = HealPlan.plan(
                answers, set: set, versionID: request.versionID, corrupt: request.corrupt, healing: healingNodes,
                removedBefore: request.removedBefore, now: WallTime.now().millisecondsSinceEpoch)
            // A node this heal is for that gave no answer (down, but not yet known to be) is not healthy:
            // it is unknown, and the heal is tried again (a missed write must not be settled for it).
            let nothingToDo: HealOutcome =
                (request.only ?? []).allSatisfy { answers[$0]?.isDefinite ?? false } ? .healthy : .undecided
            switch action {
            case .nothing: done(.success(nothingToDo))
            case .undecided: done(.success(.undecided))
            case .unrecoverable(_, let good, let needed): done(.success(.unrecoverable(good: good, needed: needed)))
            case .remove(let targets):
                let chosen = targets.filter { request.only?.contains($0.key) ?? true }
                guard !chosen.isEmpty else { return done(.success(nothingToDo)) }
                removeStrays(request, chosen) { done($0.map { .removed($0) }) }
            case .attributes(let version, let targets):
                let chosen = targets.filter { request.only?.contains($0) ?? true }
                guard !chosen.isEmpty else { return done(.success(nothingToDo)) }
                var set: [NodeID] = []
                var waiting = chosen.count
                for node in chosen {
                    store(node).setAttributes(
                        bucket: request.bucket, key: request.key, write: version, version.attributes
                    ) { result in
                        if (try? result.get()) != nil { set.append(node) }
                        waiting -= 1
                        if waiting == 0 { done(.success(.attributesSet(set.sorted()))) }
                    }
                }
            case .rebuild(let version, let sources, let targets):
                let chosen = targets.filter { request.only?.contains($0) ?? true }
                guard !chosen.isEmpty else { return done(.success(nothingToDo)) }
                let coder: BlockCoder
                do throws(ObjectError) {
                    coder = try self.coder(for: ErasureGeometry(of: version))
                } catch {
                    return done(.failure(error))
                }
                RebuildOperation(
                    layer: self, bucket: request.bucket, key: request.key, version: version, sources: sources,
                    targets: chosen.map(index(of:)), coder: coder
                ) { result in done(result.map { .rebuilt($0.map(self.nodeID), bytes: version.size) }) }
                .start()
            }
        }
    }

    private func removeStrays(
        _ request: HealRequest, _ targets: [NodeID: String], _ done: @escaping (Result<[NodeID], ObjectError>) -> Void
    ) {
        var removed: [NodeID] = []
        var waiting = targets.count
        for (node, versionID) in targets {
            store(node).deleteVersion(bucket: request.bucket, key: request.key, versionID: versionID) { result in
                if (try? result.get()) != nil { removed.append(node) }
                waiting -= 1
                if waiting == 0 { done(.success(removed.sorted())) }
            }
        }
    }
}

extension ErasureGeometry {
    /// The geometry a version was coded with.
    init(of version: ObjectVersion) {
        let e = version.erasure
        self.init(
            dataShards: e?.dataShards ?? 1, parityShards: e?.parityShards ?? 0,
            blockSize: e?.blockSize ?? ErasureGeometry.defaultBlockSize)
    }
}

/// Rebuilds one version's shards on `targets`: part by part, every block is read from k good shards
/// (decoded), coded again and the targets' frames written to their staged shard files; then each
/// target commits the version with its own shard index (a new data folder, swapped in). Small
/// objects get their inline frames. Loop-bound; one block in flight.
final class RebuildOperation {
    let layer: ObjectLayer
    let bucket: String
    let key: String
    let version: ObjectVersion
    let sources: [NodeID: ObjectVersion]
    var targets: [Int]
    let coder: BlockCoder
    var done: ((Result<[Int], ObjectError>) -> Void)?
    let dataDir = Crypto.randomBytes(16).hexString
    private var writers: [Int: ShardWriter] = [:]
    private var inlineFrames: [ByteBuffer]?

    init(
        layer: ObjectLayer, bucket: String, key: String, version: ObjectVersion, sources: [NodeID: ObjectVersion],
        targets: [Int], coder: BlockCoder, done: @escaping (Result<[Int], ObjectError>) -> Void
    ) {
        self.layer = layer
        self.bucket = bucket
        self.key = key
        self.version = version
        self.sources = sources
        self.targets = targets
        self.coder = coder
        self.done = done
    }

    private var object: ResolvedObject {
        ResolvedObject(bucket: bucket, key: key, version: version, holders: sources)
    }

    private func shard(of node: Int) -> Int { version.erasure?.distribution[node] ?? 0 }

    func start() {
        if version.dataDir == nil {
            return version.size == 0 ? commit(inline: []) : rebuildInline()
        }
        rebuild(parts: version.storedParts[...], offset: 0)
    }

    // MARK: Small objects

    private func rebuildInline() {
        var block: ByteBuffer?
        layer.readObject(
            object, reportsDegraded: false,
            sink: { buffer, more in
                block = buffer
                more(true)
            }
        ) { [self] error in
            if let error { return finish(.failure(error)) }
            guard let block else { return finish(.failure(.internalError("no block read"))) }
            encode(block) { [self] frames in commit(inline: frames) }
        }
    }

    // MARK: Shard files

    private func rebuild(parts: ArraySlice<PartInfo>, offset: Int64) {
        guard done != nil else { return }
        guard let part = parts.first else { return commit(inline: nil) }
        let length = coder.geometry.shardFileBytes(objectSize: part.size)
        writers = [:]
        for node in targets {
            writers[node] = layer.stores[node].stage(uploadID: dataDir, part: part.number, length: length)
        }
        let range = offset..<(offset + part.size)
        let next = { [self] in rebuild(parts: parts.dropFirst(), offset: range.upperBound) }
        guard !range.isEmpty else { return finishWriters(then: next) }
        layer.readObject(
            object, range: range, reportsDegraded: false,
            sink: { [self] block, more in
                encode(block) { [self] frames in write(frames) { more($0) } }
            }
        ) { [self] error in
            if let error { return finish(.failure(error)) }
            finishWriters(then: next)
        }
    }

    private func encode(_ block: ByteBuffer, then: @escaping ([ByteBuffer]) -> Void) {
        let coder = self.coder
        do {
            try layer.code(bytes: block.count, { coder.encode(block: block.bytes) }) { [self] result in
                guard done != nil else { return }
                guard case .success(let frames) = result else { return finish(.failure(.slowDown)) }
                then(frames)
            }
        } catch {
            finish(.failure(.slowDown))
        }
    }

    /// Writes each target its frame; a target that fails is dropped (the others go on).
    private func write(_ frames: [ByteBuffer], then: @escaping (Bool) -> Void) {
        var waiting = writers.count
        guard waiting > 0 else { return then(false) }
        for (node, writer) in writers {
            writer.write(frames[shard(of: node)]) { [self] error in
                if error != nil { drop(node) }
                waiting -= 1
                if waiting == 0 { then(done != nil && !writers.isEmpty) }
            }
        }
    }

    private func finishWriters(then: @escaping () -> Void) {
        var waiting = writers.count
        guard waiting > 0 else { return finish(.failure(.internalError("every target failed"))) }
        for (node, writer) in writers {
            writer.finish { [self] result in
                if case .failure = result { drop(node) }
                waiting -= 1
                if waiting == 0 { targets.isEmpty ? finish(.failure(.internalError("every target failed"))) : then() }
            }
        }
    }

    private func drop(_ node: Int) {
        writers.removeValue(forKey: node)?.abort()
        targets.removeAll { $0 == node }
    }

    // MARK: Commit

    private func commit(inline frames: [ByteBuffer]?) {
        guard done != nil else { return }
        var committed: [Int] = []
        var waiting = targets.count
        guard waiting > 0 else { return finish(.success([])) }
        for node in targets {
            var copy = version
            copy.erasure?.index = shard(of: node)
            var source = CommitSource.staged
            if let frames {
                copy.dataDir = nil
                copy.inline = frames.isEmpty ? [] : frames[shard(of: node)].array
                source = .inline(frames)
            } else {
                copy.dataDir = dataDir
            }
            layer.commit(bucket: bucket, key: key, copy, on: node, source: source) { [self] result in
                // A target that could not commit keeps its staged files until it restarts (they are
                // cleared then).
                if (try? result.get()) != nil { committed.append(node) }
                waiting -= 1
                if waiting == 0 { finish(.success(committed.sorted())) }
            }
        }
    }

    private func finish(_ result: Result<[Int], ObjectError>) {
        guard let done else { return }
        self.done = nil
        if case .failure = result { for (_, w) in writers { w.abort() } }
        writers = [:]
        done(result)
    }
}
