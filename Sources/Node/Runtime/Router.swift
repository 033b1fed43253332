import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// Which part of the node answers a request. Every non-S3 path lives where no bucket can: the internal
/// prefix `/_dc/` (`_` is not allowed in bucket names) and MinIO's probe paths under `/minio/`.
extension Node {
    func route(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        noteRequest()
        response.defaultHeaders.add("X-Amz-Request-Id", nextRequestID())
        let path = request.head.path
        if path.hasPrefix(AdminPaths.internalPrefix) {
            routeInternal(request, response)
        } else if path.hasPrefix("/minio/health/") {
            Health.respond(path: path, query: request.head.query, snapshot: healthSnapshot(), response: response)
        } else if path.hasPrefix("/_dc/") || path == "/_dc" {
            sendText(response, 404, "no such devcluster endpoint: \(path)")
        } else {
            s3.handle(request, response)
        }
    }

    private func routeInternal(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        switch key.verify(request.head) {
        case .failure(let rejection):
            sendText(response, 403, rejection.description)
            return
        case .success:
            break
        }
        let method = request.head.method
        if request.head.path.hasPrefix(StoragePaths.prefix) {
            return storage.handle(request, response)
        }
        switch (method, String(request.head.path)) {
        case ("POST", MembershipPaths.heartbeat): membership.handleHeartbeat(request, response)
        case ("POST", MembershipPaths.leave): membership.handleLeave(request, response)
        case ("GET", AdminPaths.status): sendJSON(response, status())
        case ("GET", AdminPaths.events): sendEvents(request, response)
        default: sendText(response, 404, "no such internal endpoint: \(method) \(request.head.path)")
        }
    }

    func healthSnapshot() -> Health.Snapshot {
        let members = config.members.count
        return Health.Snapshot(
            members: members, online: membership.onlineCount, quorum: set.writeQuorum,
            shuttingDown: isShuttingDown)
    }

    func status() -> NodeStatus {
        let now = loop.now
        let health = healthSnapshot()
        let timing = membership.timing
        return NodeStatus(
            schemaVersion: NodeStatus.currentSchemaVersion,
            node: .init(
                id: me.rawValue, incarnation: incarnation, endpoint: config.ownURL ?? "", pid: getpid(),
                startedAt: startedAt.iso8601,
                uptimeMs: now.since(startInstant).milliseconds, version: Version.string, dataDir: config.dataDirectory,
                shuttingDown: isShuttingDown),
            cluster: .init(
                members: health.members, online: health.online, quorum: health.quorum,
                quorumAvailable: health.online >= health.quorum),
            load: currentLoad(),
            timing: .init(
                heartbeatIntervalMs: timing.interval.milliseconds, suspectAfterMs: timing.suspectAfter.milliseconds,
                deadAfterMs: timing.deadAfter.milliseconds),
            peers: membership.peerStatuses(now: now).map { p in
                NodeStatus.Peer(
                    id: p.id.rawValue, endpoint: p.url, state: p.state, lastHeardMs: p.silence?.milliseconds,
                    stateForMs: p.stateAge.milliseconds,
                    incarnation: p.incarnation, view: p.reported?.view, load: p.reported?.load)
            },
            http: .init(
                connections: server.connectionCount, requests: server.stats.requests,
                protocolErrors: server.stats.protocolErrors,
                timeouts: server.stats.timeouts, connectionsRefused: server.stats.connectionsRefused))
    }

    /// `GET /_dc/v1/events?after=N&limit=M`: JSON lines of the events numbered after N.
    private func sendEvents(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        var after: UInt64 = 0
        var limit = Node.eventsPageDefault
        for pair in (request.head.query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            if kv[0] == "after", let n = UInt64(kv[1]) { after = n }
            if kv[0] == "limit", let n = Int(kv[1]), n > 0 { limit = min(n, Node.eventsPageMax) }
        }
        var text = ""
        for event in events.events(after: after, limit: limit) {
            event.json.write(to: &text)
            text += "\n"
        }
        response.send(
            status: 200,
            headers: ["Content-Type": "application/x-ndjson", "X-Dc-Last-Sequence": String(events.lastSequence)],
            body: Array(text.utf8))
    }

    func sendJSON<T: Encodable>(_ response: HTTPServerResponse, _ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else {
            sendText(response, 500, "could not encode the response")
            return
        }
        response.send(status: 200, headers: ["Content-Type": "application/json"], body: Array(data))
    }

    func sendText(_ response: HTTPServerResponse, _ status: Int, _ text: String) {
        response.send(
            status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array((text + "\n").utf8))
    }
}
