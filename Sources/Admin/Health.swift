import Cluster
import HTTP

/// MinIO's probe endpoints, so probes written for MinIO work unchanged.
///
/// - `/minio/health/live` and `/ready`: 200 while the process serves.
/// - `/minio/health/cluster`: 200 while, as this node sees it, a write quorum of nodes is online and a
///   read quorum of them is whole (a node still rebuilding its data, or deciding whether it must,
///   takes writes but serves no reads), else 503.
/// - `/minio/health/cluster?maintenance=true`: 412 when stopping this node would lose that quorum
///   ("is it safe to stop this node?"), 200 otherwise.
public enum Health {
    public struct Snapshot: Sendable {
        public var members: Int
        public var online: Int
        /// Of the online members, those not rebuilding their data folder (sources for reads).
        public var whole: Int
        /// Whether this node is one of them.
        public var selfWhole: Bool
        /// Nodes a write needs.
        public var quorum: Int
        /// Whole nodes a read needs.
        public var readQuorum: Int
        public var shuttingDown: Bool

        public init(
            members: Int, online: Int, whole: Int, selfWhole: Bool, quorum: Int, readQuorum: Int, shuttingDown: Bool
        ) {
            self.members = members
            self.online = online
            self.whole = whole
            self.selfWhole = selfWhole
            self.quorum = quorum
            self.readQuorum = readQuorum
            self.shuttingDown = shuttingDown
        }

        /// Writes and reads can be served.
        public var quorumAvailable: Bool { online >= quorum && whole >= readQuorum }

        /// Writes and reads could still be served without this node.
        var safeToStop: Bool { online - 1 >= quorum && whole - (selfWhole ? 1 : 0) >= readQuorum }

        var rebuilding: String { online > whole ? ", \(online - whole) rebuilding" : "" }
    }

    public static func respond(path: Substring, query: Substring?, snapshot: Snapshot, response: HTTPServerResponse) {
        var headers: HTTPHeaders = [
            "Content-Type": "text/plain; charset=utf-8", "X-Minio-Write-Quorum": String(snapshot.quorum),
            "X-Dc-Online": "\(snapshot.online)/\(snapshot.members)",
            "X-Dc-Whole": "\(snapshot.whole)/\(snapshot.members)",
        ]
        switch path {
        case AdminPaths.healthLive[...], AdminPaths.healthReady[...]:
            let status = snapshot.shuttingDown ? 503 : 200
            response.send(
                status: status, headers: headers, body: Array((status == 200 ? "live\n" : "shutting down\n").utf8))
        case AdminPaths.healthCluster[...]:
            let maintenance = query?.split(separator: "&").contains("maintenance=true") ?? false
            if maintenance {
                let safe = snapshot.safeToStop
                headers.add("X-Dc-Safe-To-Stop", safe ? "true" : "false")
                let text =
                    safe
                    ? "safe to stop: \(snapshot.online - 1) of \(snapshot.members) would stay online\(snapshot.rebuilding) (quorum \(snapshot.quorum))\n"
                    : "not safe to stop: only \(snapshot.online - 1) of \(snapshot.members) would stay online\(snapshot.rebuilding) (quorum \(snapshot.quorum), \(snapshot.readQuorum) whole for reads)\n"
                response.send(status: safe ? 200 : 412, headers: headers, body: Array(text.utf8))
            } else {
                let ok = snapshot.quorumAvailable
                let text =
                    ok
                    ? "quorum available: \(snapshot.online) of \(snapshot.members) online\(snapshot.rebuilding) (quorum \(snapshot.quorum))\n"
                    : "quorum lost: \(snapshot.online) of \(snapshot.members) online\(snapshot.rebuilding) (quorum \(snapshot.quorum), \(snapshot.readQuorum) whole for reads)\n"
                response.send(status: ok ? 200 : 503, headers: headers, body: Array(text.utf8))
            }
        default:
            response.send(status: 404, headers: headers, body: Array("unknown health check \(path)\n".utf8))
        }
    }
}
