import Erasure
import Storage

/// Where the shards of one object version live and whether each is good: the dashboard's shard map
/// and `devcluster` tooling. Decided by `ShardMap.build`, a pure function of what the nodes answered.
public struct ShardMap: Codable, Equatable, Sendable {
    public enum State: String, Codable, Sendable {
        /// Present, and every frame passed its checksum.
        case ok
        /// Present, but a frame failed its checksum or the file is short.
        case corrupt
        /// The node holds no copy of this version, or its shard file is gone.
        case missing
        /// The node holds an older write of the key (it missed this one).
        case stale
        /// The node did not answer (offline, partitioned, or being rebuilt).
        case unreachable
    }

    public struct Shard: Codable, Equatable, Sendable {
        public var node: String
        /// The shard this node should hold (0-based); data shards come first.
        public var index: Int
        public var role: String
        public var state: State
        /// Bytes of the shard read and checked.
        public var bytes: Int64
        public var detail: String?
        /// When `corrupt`: the blocks whose frame failed (the others passed), if the node named them.
        public var badBlocks: [Int]?
    }

    public var bucket: String
    public var key: String
    public var versionID: String
    public var size: Int64
    public var etag: String
    public var modTime: Int64
    public var isDeleteMarker: Bool
    public var dataShards: Int
    public var parityShards: Int
    /// Erasure blocks of the object, over all its parts: each shard holds one frame of each.
    public var blocks: Int
    /// One per member, in member order.
    public var shards: [Shard]
    /// Good shards, and whether that is enough to read the object.
    public var good: Int
    public var readable: Bool

    /// - `members`: the deployment's nodes in order (the distribution's order).
    /// - `version`/`holders`: the version a quorum resolved and each holder's copy of it.
    /// - `answers`: every node's metadata answer.
    /// - `checks`: what reading back each holder's shard found.
    public static func build(
        bucket: String, key: String, members: [NodeID], version: ObjectVersion, holders: [NodeID: ObjectVersion],
        answers: [NodeID: Result<ObjectMetadata, StoreError>], checks: [NodeID: Result<ShardCheck, StoreError>]
    ) -> ShardMap {
        let k = version.erasure?.dataShards ?? 1
        let m = version.erasure?.parityShards ?? 0
        let shards = members.enumerated().map { position, node -> Shard in
            let index = version.erasure?.distribution[safe: position] ?? position
            let role = index < k ? "data" : "parity"
            func shard(_ state: State, _ bytes: Int64 = 0, _ detail: String? = nil) -> Shard {
                Shard(node: node.rawValue, index: index, role: role, state: state, bytes: bytes, detail: detail)
            }
            if holders[node] != nil {
                switch checks[node] {
                case .success(let c)?:
                    let state: State = c.status == .ok ? .ok : c.status == .corrupt ? .corrupt : .missing
                    var found = shard(state, c.bytes, c.detail)
                    if state == .corrupt { found.badBlocks = c.badBlocks }
                    return found
                case .failure(.unreachable(let why))?: return shard(.unreachable, 0, why)
                case .failure(let e)?: return shard(.missing, 0, e.description)
                case nil: return shard(.unreachable, 0, "not checked")
                }
            }
            switch answers[node] {
            case .success(let metadata)?:
                if metadata.versions.contains(where: { $0.modTime < version.modTime }) {
                    return shard(.stale, 0, "holds an older write")
                }
                return shard(.missing, 0, "holds no copy of this version")
            case .failure(.storage)?: return shard(.missing, 0, "holds no copy of this version")
            case .failure(let e)?: return shard(.unreachable, 0, e.description)
            case nil: return shard(.unreachable, 0, "no answer")
            }
        }
        let good = shards.filter { $0.state == .ok }.count
        return ShardMap(
            bucket: bucket, key: key, versionID: version.versionID, size: version.size, etag: version.etag,
            modTime: version.modTime, isDeleteMarker: version.isDeleteMarker, dataShards: k, parityShards: m,
            blocks: blockCount(version), shards: version.isDeleteMarker ? [] : shards, good: good,
            readable: version.isDeleteMarker || good >= k)
    }

    /// Erasure blocks over all parts (an inline object is one).
    static func blockCount(_ version: ObjectVersion) -> Int {
        guard version.size > 0, !version.isDeleteMarker else { return 0 }
        guard version.dataDir != nil else { return 1 }
        let geometry = ErasureGeometry(of: version)
        return version.storedParts.reduce(0) { $0 + geometry.blockCount(objectSize: $1.size) }
    }
}

fileprivate extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}

extension ObjectLayer {
    /// The shard map of an object (its latest version, or `versionID`): a quorum read of the metadata,
    /// then every holder reads back its shard and checks it. Nodes being rebuilt are asked too, so
    /// the map shows the shards they have written so far.
    public func shardMap(
        bucket: String, key: String, versionID: String? = nil, _ done: @escaping (Result<ShardMap, ObjectError>) -> Void
    ) {
        if let error = ObjectLayer.invalidName(bucket: bucket, key: key) { return done(.failure(error)) }
        fanOut(includingHealing: true, { $0.readMetadata(bucket: bucket, key: key, $1) }) { [self] answers in
            let healingNodes = healingNodes
            let trusted = answers.filter { !healingNodes.contains($0.key) }
            let version: ObjectVersion
            var holders: [NodeID: ObjectVersion]
            switch Quorum.resolve(trusted, set: set, versionID: versionID) {
            case .found(let v, let h):
                version = v
                holders = h
            case .notFound:
                if let versionID {
                    return done(.failure(.noSuchVersion(bucket: bucket, key: key, versionID: versionID)))
                }
                return done(.failure(.noSuchKey(bucket: bucket, key: key)))
            case .noSuchBucket:
                return done(.failure(.noSuchBucket(bucket)))
            case .unavailable(let answered, let needed):
                return done(.failure(.readQuorum(answered: answered, needed: needed, detail: Self.summary(answers))))
            }
            // A node being rebuilt holds the version once it has rebuilt it.
            for (node, answer) in answers where healingNodes.contains(node) {
                if case .success(let metadata) = answer,
                    let copy = metadata.versions.first(where: { $0.sameWrite(as: version) })
                {
                    holders[node] = copy
                }
            }
            let members = stores.map(\.id)
            var checks: [NodeID: Result<ShardCheck, StoreError>] = [:]
            var waiting = holders.count
            func finish() {
                done(
                    .success(
                        ShardMap.build(
                            bucket: bucket, key: key, members: members, version: version, holders: holders,
                            answers: answers, checks: checks)))
            }
            guard waiting > 0, !version.isDeleteMarker else { return finish() }
            for (node, copy) in holders {
                store(node).checkShard(bucket: bucket, key: key, version: copy) { result in
                    checks[node] = result
                    waiting -= 1
                    if waiting == 0 { finish() }
                }
            }
        }
    }
}
