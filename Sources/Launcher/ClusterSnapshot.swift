import Admin
import Cluster

/// A process as the launcher sees it from its records and /proc.
public enum ProcessState: String, Codable, Sendable, Equatable {
    case running, stopped, paused
    /// A node of a deployment devcluster did not start (by hand, or on another host): only its answer
    /// says whether it runs.
    case remote

    /// Worth asking: it runs here, or it may run elsewhere.
    public var mayAnswer: Bool { self == .running || self == .remote }
}

/// Everything `status`, `wait-for` and `watch` know about the cluster at one moment: each node's
/// process and, when it answered, its own view.
public struct ClusterSnapshot: Sendable {
    public struct Node: Sendable {
        public var id: String
        public var port: Int
        public var endpoint: String
        public var pid: Int32?
        public var process: ProcessState
        /// The node's status, when it answered the probe.
        public var status: NodeStatus?
        /// Why it did not answer.
        public var probeError: String?

        public init(
            id: String, port: Int, endpoint: String, pid: Int32?, process: ProcessState, status: NodeStatus?,
            probeError: String?
        ) {
            self.id = id
            self.port = port
            self.endpoint = endpoint
            self.pid = pid
            self.process = process
            self.status = status
            self.probeError = probeError
        }
    }

    public var nodes: [Node]

    public init(nodes: [Node]) {
        self.nodes = nodes
    }

    public enum Verdict: String, Sendable {
        case healthy, degraded, unavailable

        /// `devcluster status` exit codes.
        public var exitCode: Int32 {
            switch self {
            case .healthy: 0
            case .degraded: 1
            case .unavailable: 2
            }
        }
    }

    /// Healthy: every node runs and every node sees every other online. Unavailable: fewer than a quorum
    /// of nodes run and answer (the launcher knows before the failure detector does), or none of them
    /// sees a quorum online. Degraded: anything in between.
    public var verdict: Verdict {
        let answering = nodes.compactMap(\.status)
        let quorum = nodes.count / 2 + 1
        guard answering.count >= quorum, answering.contains(where: { $0.cluster.quorumAvailable }) else {
            return .unavailable
        }
        let allRunning = nodes.allSatisfy { $0.process.mayAnswer && $0.status != nil }
        let allSeeAll = answering.allSatisfy { status in status.peers.allSatisfy { $0.state == .online } }
        return allRunning && allSeeAll ? .healthy : .degraded
    }

    /// What `row` sees `column` as: a view state, "self", or "?" when `row` did not answer.
    public func cell(row: String, column: String) -> String {
        if row == column { return "self" }
        guard let status = nodes.first(where: { $0.id == row })?.status else { return "?" }
        return status.view[column]?.rawValue ?? "?"
    }

    /// The largest silence any answering node reports for `id` (its "heartbeat age" as others see it).
    public func heartbeatAge(of id: String) -> Int64? {
        nodes.compactMap(\.status).compactMap { s in s.peers.first { $0.id == id }?.lastHeardMs }.max()
    }
}
