import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP
import Storage

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
        case ("POST", AdminPaths.heal): sendJSON(response, ["pass": scanner.startPass(unthrottled: true)])
        case ("GET", AdminPaths.verify): sendVerification(response)
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
                timeouts: server.stats.timeouts, connectionsRefused: server.stats.connectionsRefused),
            healing: healingSummary())
    }

    func healingSummary() -> NodeStatus.HealingSummary {
        let h = healer.stats
        let rebuild = rebuilder.progress(now: loop.iterationTime).map {
            NodeStatus.HealingSummary.Rebuild(
                phase: $0.phase.rawValue, objectsDone: $0.objectsDone, objectsTotal: $0.objectsTotal,
                bytesDone: $0.bytesDone, bytesTotal: $0.bytesTotal, bytesPerSecond: $0.bytesPerSecond,
                etaMs: $0.etaSeconds.map { Int64($0 * 1000) })
        }
        let scan = scanner.pass.map {
            NodeStatus.HealingSummary.Scan(
                pass: $0.number, objects: $0.objects, bytes: $0.bytes, bad: $0.bad, finished: $0.finished,
                unthrottled: $0.unthrottled)
        }
        return .init(
            rebuild: rebuild, queued: h.queued, running: h.running, healed: h.healed, removed: h.removed,
            failed: h.failed, missedPending: h.missedPending, scan: scan)
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

extension Node {
    /// `GET /_dc/v1/verify`: reads back every shard this node holds, bucket by bucket, and streams one
    /// JSON line per object version (`devcluster verify` merges the nodes' lines). Chunked, so a large
    /// store answers as it goes.
    func sendVerification(_ response: HTTPServerResponse) {
        let local = storage.local
        response.writeHead(status: 200, headers: ["Content-Type": "application/x-ndjson"], contentLength: nil)
        local.listBuckets { result in
            guard case .success(let buckets) = result else { return response.abortConnection() }
            var rest = buckets.map(\.name)[...]
            func nextBucket() {
                guard let bucket = rest.popFirst() else { return response.end() }
                page(bucket, marker: "")
            }
            func page(_ bucket: String, marker: String) {
                local.listVersions(
                    bucket: bucket, prefix: "", from: marker, inclusive: false, delimiter: nil, limit: 256
                ) {
                    result in
                    guard case .success(let listed) = result else { return nextBucket() }
                    var entries = listed.entries.flatMap { e in
                        (e.versions ?? [e.version]).map { ListEntry(key: e.key, version: $0) }
                    }[...]
                    func nextEntry() {
                        guard let entry = entries.popFirst() else {
                            if listed.isTruncated, let m = listed.nextMarker { return page(bucket, marker: m) }
                            return nextBucket()
                        }
                        local.checkShard(bucket: bucket, key: entry.key, version: entry.version) { check in
                            let c = (try? check.get()) ?? ShardCheck(status: .missing, bytes: 0, detail: "unreadable")
                            let v = entry.version
                            var line = ""
                            JSONValue.object([
                                ("bucket", .string(bucket)), ("key", .string(entry.key)),
                                ("versionId", .string(v.versionID)), ("modTime", .int(v.modTime)),
                                ("etag", .string(v.etag)), ("size", .int(v.size)),
                                ("shard", .int(Int64(v.erasure?.index ?? 0))),
                                ("shards", .int(Int64((v.erasure?.dataShards ?? 1) + (v.erasure?.parityShards ?? 0)))),
                                ("dataShards", .int(Int64(v.erasure?.dataShards ?? 1))),
                                ("status", .string(c.status.rawValue)), ("detail", .string(c.detail ?? "")),
                                ("bytes", .int(c.bytes)),
                            ]).write(to: &line)
                            line += "\n"
                            response.write(Array(line.utf8)) { error in if error == nil { nextEntry() } }
                        }
                    }
                    nextEntry()
                }
            }
            nextBucket()
        }
    }
}
