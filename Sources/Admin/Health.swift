import Cluster
import HTTP

/// MinIO's probe endpoints, so probes written for MinIO work unchanged.
///
/// - `/minio/health/live` and `/ready`: 200 while the process serves.
/// - `/minio/health/cluster`: 200 while write quorum of nodes is online as this node sees it, else 503.
/// - `/minio/health/cluster?maintenance=true`: 412 when stopping this node would lose that quorum
///   ("is it safe to stop this node?"), 200 otherwise.
public enum Health {
    public struct Snapshot: Sendable {
        public var members: Int
        public var online: Int
        public var quorum: Int
        public var shuttingDown: Bool

        public init(members: Int, online: Int, quorum: Int, shuttingDown: Bool) {
            self.members = members
            self.online = online
            self.quorum = quorum
            self.shuttingDown = shuttingDown
        }
    }

    public static func respond(path: Substring, query: Substring?, snapshot: Snapshot, response: HTTPServerResponse) {
        var headers: HTTPHeaders = [
            "Content-Type": "text/plain; charset=utf-8", "X-Minio-Write-Quorum": String(snapshot.quorum),
            "X-Dc-Online": "\(snapshot.online)/\(snapshot.members)",
        ]
        switch path {
        case AdminPaths.healthLive[...], AdminPaths.healthReady[...]:
            let status = snapshot.shuttingDown ? 503 : 200
            response.send(
                status: status, headers: headers, body: Array((status == 200 ? "live\n" : "shutting down\n").utf8))
        case AdminPaths.healthCluster[...]:
            let maintenance = query?.split(separator: "&").contains("maintenance=true") ?? false
            if maintenance {
                let safe = snapshot.online - 1 >= snapshot.quorum
                headers.add("X-Dc-Safe-To-Stop", safe ? "true" : "false")
                let text =
                    safe
                    ? "safe to stop: \(snapshot.online - 1) of \(snapshot.members) would stay online (quorum \(snapshot.quorum))\n"
                    : "not safe to stop: only \(snapshot.online - 1) of \(snapshot.members) would stay online (quorum \(snapshot.quorum))\n"
                response.send(status: safe ? 200 : 412, headers: headers, body: Array(text.utf8))
            } else {
                let ok = snapshot.online >= snapshot.quorum
                let text =
                    ok
                    ? "quorum available: \(snapshot.online) of \(snapshot.members) online (quorum \(snapshot.quorum))\n"
                    : "quorum lost: \(snapshot.online) of \(snapshot.members) online (quorum \(snapshot.quorum))\n"
                response.send(status: ok ? 200 : 503, headers: headers, body: Array(text.utf8))
            }
        default:
            response.send(status: 404, headers: headers, body: Array("unknown health check \(path)\n".utf8))
        }
    }
}
