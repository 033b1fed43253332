import Cluster
import HTTP

/// MinIO's probe endpoints, so probes written for MinIO work unchanged.
///
/// - `/minio/health/live` and `/ready`: 200 while the process serves.
/// - `/minio/health/cluster`: 200 while write quorum of nodes is online and whole as this node sees
///   it (a node still rebuilding its data, or deciding whether it must, serves no reads), else 503.
/// - `/minio/health/cluster?maintenance=true`: 412 when stopping this node would lose that quorum
///   ("is it safe to stop this node?"), 200 otherwise.
public enum Health {
    public struct Snapshot: Sendable {
        public var members: Int
        public var online: Int
        /// Of the online members, those not rebuilding their data folder.
        public var whole: Int
        public var quorum: Int
        public var shuttingDown: Bool

        public init(members: Int, online: Int, whole: Int, quorum: Int, shuttingDown: Bool) {
            self.members = members
            self.online = online
            self.whole = whole
            self.quorum = quorum
            self.shuttingDown = shuttingDown
        }

        /// Enough members online and whole to serve reads and writes.
        public var quorumAvailable: Bool { whole >= quorum }

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
                let safe = snapshot.whole - 1 >= snapshot.quorum
                headers.add("X-Dc-Safe-To-Stop", safe ? "true" : "false")
                let text =
                    safe
                    ? "safe to stop: \(snapshot.whole - 1) of \(snapshot.members) would stay online and whole (quorum \(snapshot.quorum))\n"
                    : "not safe to stop: only \(snapshot.whole - 1) of \(snapshot.members) would stay online and whole (quorum \(snapshot.quorum))\n"
                response.send(status: safe ? 200 : 412, headers: headers, body: Array(text.utf8))
            } else {
                let ok = snapshot.quorumAvailable
                let text =
                    ok
                    ? "quorum available: \(snapshot.online) of \(snapshot.members) online\(snapshot.rebuilding) (quorum \(snapshot.quorum))\n"
                    : "quorum lost: \(snapshot.online) of \(snapshot.members) online\(snapshot.rebuilding) (quorum \(snapshot.quorum))\n"
                response.send(status: ok ? 200 : 503, headers: headers, body: Array(text.utf8))
            }
        default:
            response.send(status: 404, headers: headers, body: Array("unknown health check \(path)\n".utf8))
        }
    }
}
