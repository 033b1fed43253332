import Admin
import Core
import FoundationEssentials
import Storage

/// One line of a node's `GET /_dc/v1/verify`: its shard of one object version, read back and checked.
public struct ShardReport: Codable, Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var versionId: String
    public var modTime: Int64
    public var etag: String
    public var size: Int64
    public var shard: Int
    public var shards: Int
    public var dataShards: Int
    /// ok, corrupt, missing.
    public var status: String
    public var detail: String
    public var bytes: Int64
    /// The shard this node's position in the object's placement names (absent from older nodes).
    public var placed: Int?

    /// The write this shard belongs to (every node's shard of one write agrees on it).
    var write: String { "\(versionId)/\(modTime)/\(etag)" }
}

/// What `devcluster verify` found: every object is checked on every node. Pure: built from the
/// nodes' reports.
public struct VerifyReport: Sendable, Equatable {
    public struct Problem: Sendable, Equatable {
        public var object: String
        /// missing-shard, corrupt-shard, stale-version, stray-copy, unreadable, not-checked.
        public var kind: String
        public var node: String?
        public var detail: String
    }

    public var objects = 0
    /// Objects whose every node holds a good shard of the same write, each a different shard.
    public var fullyRedundant = 0
    /// Objects with at least k good shards.
    public var readable = 0
    public var shardBytes: Int64 = 0
    public var problems: [Problem] = []
    /// Nodes that could not be asked.
    public var unchecked: [String: String] = [:]

    public var isClean: Bool { problems.isEmpty && unchecked.isEmpty }

    /// `reports`: each node's lines; `unchecked`: the nodes that could not be asked, and why.
    public static func merge(
        nodes: [String], reports: [String: [ShardReport]], unchecked: [String: String]
    ) -> VerifyReport {
        var out = VerifyReport()
        out.unchecked = unchecked
        var byObject: [String: [String: ShardReport]] = [:]
        for (node, lines) in reports {
            for line in lines {
                let name =
                    line.bucket + "/" + line.key
                    + (line.versionId == VersionID.null ? "" : "?versionId=" + line.versionId)
                byObject[name, default: [:]][node] = line
                out.shardBytes += line.bytes
            }
        }
        for name in byObject.keys.sorted() {
            let shards = byObject[name]!
            // The object is the write most nodes hold (the newest on a tie).
            var counts: [String: (Int, ShardReport)] = [:]
            for r in shards.values { counts[r.write] = ((counts[r.write]?.0 ?? 0) + 1, r) }
            let (held, sample) = counts.values.max { a, b in (a.0, a.1.modTime) < (b.0, b.1.modTime) }!
            if held < sample.dataShards {
                out.problems.append(
                    .init(
                        object: name, kind: "stray-copy", node: shards.keys.sorted().joined(separator: ","),
                        detail:
                            "held by \(held) of the \(sample.dataShards) nodes a read needs: left over from a failed write"
                    ))
                continue
            }
            out.objects += 1
            var good = 0
            var seen: Set<Int> = []
            for node in nodes {
                guard unchecked[node] == nil else { continue }
                guard let r = shards[node] else {
                    out.problems.append(
                        .init(object: name, kind: "missing-shard", node: node, detail: "no copy of the object"))
                    continue
                }
                guard r.write == sample.write else {
                    out.problems.append(
                        .init(object: name, kind: "stale-version", node: node, detail: "holds another write of it"))
                    continue
                }
                guard r.status == "ok" else {
                    out.problems.append(
                        .init(
                            object: name, kind: r.status == "corrupt" ? "corrupt-shard" : "missing-shard", node: node,
                            detail: r.detail))
                    continue
                }
                guard seen.insert(r.shard).inserted else {
                    out.problems.append(
                        .init(object: name, kind: "duplicate-shard", node: node, detail: "shard \(r.shard) again"))
                    continue
                }
                // Still a good shard for reads, but not where the placement puts it: a stand-in's.
                if let placed = r.placed, placed != r.shard {
                    out.problems.append(
                        .init(
                            object: name, kind: "misplaced-shard", node: node,
                            detail: "holds shard \(r.shard), where its placement puts shard \(placed)"))
                }
                good += 1
            }
            if good >= sample.dataShards {
                out.readable += 1
            } else {
                out.problems.append(
                    .init(
                        object: name, kind: "unreadable", node: nil,
                        detail: "\(good) good shards of the \(sample.dataShards) needed"))
            }
            if good == nodes.count { out.fullyRedundant += 1 }
        }
        return out
    }

    public var json: JSONValue {
        .object([
            ("schemaVersion", .int(1)), ("clean", .bool(isClean)), ("objects", .int(Int64(objects))),
            ("fullyRedundant", .int(Int64(fullyRedundant))), ("readable", .int(Int64(readable))),
            ("shardBytes", .int(shardBytes)),
            ("unchecked", .object(unchecked.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            (
                "problems",
                .array(
                    problems.map { p in
                        .object(
                            [("object", .string(p.object)), ("kind", .string(p.kind))]
                                + (p.node.map { [("node", JSONValue.string($0))] } ?? [])
                                + [("detail", .string(p.detail))])
                    })
            ),
        ])
    }
}

extension Launcher {
    /// Asks every running node to read back all its shards, and merges what they say.
    public func verify(_ record: ClusterRecord, timeout: Duration = .seconds(600)) -> VerifyReport {
        var unchecked: [String: String] = [:]
        var targets: [Probe.Target] = []
        for node in record.nodes {
            if processState(record, node.id).mayAnswer {
                targets.append(.init(id: node.id, endpoint: node.endpoint))
            } else {
                unchecked[node.id] = "not running (\(processState(record, node.id).rawValue))"
            }
        }
        let requests = targets.map { ($0, Probe.request("GET", AdminPaths.verify, key: key(record))) }
        var reports: [String: [ShardReport]] = [:]
        let decoder = JSONDecoder()
        for (id, result) in Probe.send(requests, timeout: timeout, bodyBytesMax: 1 << 30, tls: tls) {
            switch result {
            case .success(let response) where response.status == 200:
                reports[id] = response.body.split(separator: UInt8(ascii: "\n")).compactMap {
                    try? decoder.decode(ShardReport.self, from: Data($0))
                }
            case .success(let response): unchecked[id] = "HTTP \(response.status)"
            case .failure(let e): unchecked[id] = e.description
            }
        }
        return VerifyReport.merge(nodes: record.nodes.map(\.id), reports: reports, unchecked: unchecked)
    }
}
