import Core
import Erasure

/// One erasure set: all N nodes, m of whose shards are parity (DESIGN.md section 4). Pure.
public struct ErasureSet: Sendable, Equatable {
    public static let nodesMax = 16

    public let nodes: Int
    public let parity: Int
    public var data: Int { nodes - parity }

    public struct Invalid: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// MinIO's defaults: 1 node -> 0, 2-3 -> 1, 4-5 -> 2, 6-7 -> 3, 8-16 -> 4.
    public static func defaultParity(nodes: Int) -> Int {
        switch nodes {
        case ...1: 0
        case 2...3: 1
        case 4...5: 2
        case 6...7: 3
        default: 4
        }
    }

    public init(nodes: Int, parity: Int? = nil) throws(Invalid) {
        guard (1...ErasureSet.nodesMax).contains(nodes) else {
            throw Invalid(description: "an erasure set has 1 to \(ErasureSet.nodesMax) nodes, not \(nodes)")
        }
        let m = parity ?? ErasureSet.defaultParity(nodes: nodes)
        guard m >= 0, m <= nodes / 2 else {
            throw Invalid(description: "parity \(m) with \(nodes) nodes: use 0...\(nodes / 2) (at most half the nodes)")
        }
        self.nodes = nodes
        self.parity = m
    }

    /// Nodes that must hold a write before it is acknowledged: k, or k + 1 when k == m (otherwise two
    /// disjoint halves could each accept a different write).
    public var writeQuorum: Int { data == parity && !unsafeHalfQuorums ? data + 1 : data }
    /// A deliberately broken build for one test: every quorum off by one (k writes even when k == m,
    /// half the nodes for locks and deletes), so both halves of a split accept writes. It exists to
    /// show that the chaos checker catches the stale reads and lost writes that follow.
    public var unsafeHalfQuorums = false
    /// Nodes that must answer for a read: any k shards rebuild the data.
    public var readQuorum: Int { data }
    /// Nodes that must agree on deletes and bucket operations: a majority.
    public var metadataQuorum: Int { unsafeHalfQuorums ? max(1, nodes / 2) : nodes / 2 + 1 }

    public var geometry: ErasureGeometry { ErasureGeometry(dataShards: data, parityShards: parity) }

    /// Which shard (0-based) each node holds for this object: a rotation derived from a hash of
    /// bucket/key, so data and parity spread evenly over the nodes. `result[node]` is the shard index.
    public func distribution(bucket: String, key: String) -> [Int] {
        let hash = RunningChecksum.compute(.crc32c, Array("\(bucket)/\(key)".utf8)).reduce(0) { $0 << 8 | Int($1) }
        let start = hash % nodes
        return (0..<nodes).map { ($0 + nodes - start) % nodes }
    }
}
