import Admin
import Cluster
import Core

extension ClusterSnapshot {
    /// How the other nodes see `id`: one state, or the worst with how many see it so.
    public func seenAs(_ id: String) -> String {
        let states = nodes.filter { $0.id != id }.compactMap { $0.status?.view[id] }
        guard !states.isEmpty else { return nodes.count == 1 ? "-" : "unknown" }
        for state in [FailureDetector.State.offline, .suspect, .online] {
            let n = states.count { $0 == state }
            if n == states.count { return state.rawValue }
            if n > 0 { return "\(state.rawValue) \(n)/\(states.count)" }
        }
        return "unknown"
    }

    /// `devcluster status --json` (schemaVersion 1), also what the console shows: `home` nil for a
    /// deployment devcluster did not start.
    public func document(_ record: ClusterRecord, home: ClusterHome?) -> JSONValue {
        .object([
            ("schemaVersion", .int(1)), ("name", .string(record.name)),
            ("home", home.map { .string($0.path) } ?? .null),
            ("verdict", .string(verdict.rawValue)), ("accessKey", .string(record.accessKey)),
            ("secretKey", .string(record.secretKey)),
            (
                "nodes",
                .array(
                    nodes.map { n in
                        var pairs: [(String, JSONValue)] = [
                            ("id", .string(n.id)),
                            ("pid", n.process == .stopped ? .null : n.pid.map { .int(Int64($0)) } ?? .null),
                            ("endpoint", .string(n.endpoint)), ("port", .int(Int64(n.port))),
                            ("process", .string(n.process.rawValue)),
                            ("seenAs", .string(seenAs(n.id))),
                            ("heartbeatAgeMs", heartbeatAge(of: n.id).map { .int($0) } ?? .null),
                        ]
                        if let status = n.status {
                            pairs.append(("incarnation", .int(Int64(status.node.incarnation))))
                            pairs.append(("uptimeMs", .int(status.node.uptimeMs)))
                            pairs.append(
                                ("view", .object(status.peers.map { ($0.id, .string($0.state.rawValue)) })))
                            pairs.append(("requestsInFlight", .int(Int64(status.load.requestsInFlight))))
                            pairs.append(
                                ("diskFreeBytes", status.load.diskFreeBytes.map { .int(Int64($0)) } ?? .null))
                            pairs.append(("data", .string(HealingText.describe(status.healing))))
                            if let r = status.healing?.rebuild {
                                pairs.append(
                                    (
                                        "healing",
                                        .object([
                                            ("phase", .string(r.phase)), ("objectsDone", .int(r.objectsDone)),
                                            ("objectsTotal", .int(r.objectsTotal)),
                                            ("bytesDone", .int(r.bytesDone)),
                                            ("bytesTotal", .int(r.bytesTotal)),
                                            ("bytesPerSecond", .int(Int64(r.bytesPerSecond))),
                                            ("etaMs", r.etaMs.map { .int($0) } ?? .null),
                                        ])
                                    ))
                            }
                        } else {
                            pairs.append(("view", .null))
                            pairs.append(("error", .string(n.probeError ?? "not answering")))
                        }
                        return .object(pairs)
                    })
            ),
        ])
    }
}
