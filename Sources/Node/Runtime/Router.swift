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
        } else if path == AdminPaths.metrics {
            guard isAuthorizedOperator(request) else {
                return response.send(
                    status: 401, headers: ["WWW-Authenticate": "Basic realm=\"devcluster\""],
                    body: Array("the metrics need the cluster's access and secret key (HTTP Basic auth)\n".utf8))
            }
            response.send(
                status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: Array(metrics.render(gauges: gauges()).utf8))
        } else if path.hasPrefix(AdminPaths.dashboard) {
            routeDashboard(request, response)
        } else if path == AdminPaths.eventStream {
            routeEventStream(request, response)
        } else if path == "/_dc/ui" || isBrowserLanding(request.head) {
            response.send(status: 302, headers: ["Location": AdminPaths.dashboard])
        } else if path.hasPrefix("/_dc/") || path == "/_dc" {
            sendText(response, 404, "no such devcluster endpoint: \(path)")
        } else {
            filterClients(response) { [unowned self] in s3.handle(request, response) }
        }
    }

    private func routeInternal(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let caller: String
        switch gate.admit(request, at: loop.iterationTime) {
        case .failure(let rejection):
            sendText(response, 403, rejection.description)
            return
        case .success(let name):
            caller = name
        }
        if request.head.path == AdminPaths.faults { return routeFaults(request, response) }
        filterIncoming(caller: caller, response) { [unowned self] in serveInternal(request, response, caller: caller) }
    }

    private func serveInternal(_ request: HTTPServerRequest, _ response: HTTPServerResponse, caller: String) {
        let method = request.head.method
        if request.head.path.hasPrefix(StoragePaths.prefix) {
            return storage.handle(request, response)
        }
        switch (method, String(request.head.path)) {
        case ("POST", MembershipPaths.heartbeat): membership.handleHeartbeat(request, response, caller: caller)
        case ("POST", MembershipPaths.leave): membership.handleLeave(request, response, caller: caller)
        case ("GET", AdminPaths.status): sendJSON(response, status())
        case ("GET", AdminPaths.revokedSessions), ("POST", AdminPaths.revokedSessions):
            handleRevokedSessions(request, response, caller: caller)
        case ("GET", AdminPaths.events): sendEvents(request, response)
        case ("POST", AdminPaths.heal): sendJSON(response, ["pass": scanner.startPass(unthrottled: true)])
        case ("GET", AdminPaths.verify): sendVerification(response)
        case ("POST", AdminPaths.lifecycle):
            // `?asOf=MS`: judge the rules as at that time (later than now: what will have expired by then).
            let asOf = QueryParameters(parsing: request.head.query)?["asOf"].flatMap { Int64($0) }
            lifecycle.start(
                asOf: asOf.map { WallTime(millisecondsSinceEpoch: $0) } ?? .now(), unthrottled: true)
            sendJSON(response, lifecycle.pass)
        case ("GET", AdminPaths.lifecycle): sendJSON(response, lifecycle.pass)
        case ("POST", AdminPaths.forgetMetadata):
            guard let query = QueryParameters(parsing: request.head.query), let bucket = query["bucket"],
                let key = query["key"]
            else { return sendText(response, 400, "forget needs ?bucket=B&key=K") }
            disk.metadataCache.remove(bucket: bucket, key: key)
            sendText(response, 200, "forgotten\n")
        default: sendText(response, 404, "no such internal endpoint: \(method) \(request.head.path)")
        }
    }

    func healthSnapshot() -> Health.Snapshot {
        let members = config.members.count
        let online = membership.onlineCount
        return Health.Snapshot(
            members: members, online: online, whole: max(0, online - healingNodes.count),
            selfWhole: !rebuilder.isHealing, quorum: set.writeQuorum, readQuorum: set.readQuorum,
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
                quorumAvailable: health.quorumAvailable),
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
        // Which shard each object's placement gives this node (its position in the member list).
        let position = (0..<set.nodes).first { NodeID.forIndex($0) == me }
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
                            let placed = v.erasure.flatMap { e in
                                position.flatMap { e.distribution.indices.contains($0) ? e.distribution[$0] : nil }
                            }
                            var line = ""
                            JSONValue.object(
                                [
                                    ("bucket", .string(bucket)), ("key", .string(entry.key)),
                                    ("versionId", .string(v.versionID)), ("modTime", .int(v.modTime)),
                                    ("etag", .string(v.etag)), ("size", .int(v.size)),
                                    ("shard", .int(Int64(v.erasure?.index ?? 0))),
                                    (
                                        "shards",
                                        .int(Int64((v.erasure?.dataShards ?? 1) + (v.erasure?.parityShards ?? 0)))
                                    ),
                                    ("dataShards", .int(Int64(v.erasure?.dataShards ?? 1))),
                                    ("status", .string(c.status.rawValue)), ("detail", .string(c.detail ?? "")),
                                    ("bytes", .int(c.bytes)),
                                ] + (placed.map { [("placed", JSONValue.int(Int64($0)))] } ?? [])
                            ).write(to: &line)
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

extension Node {
    /// The gauges of a scrape, read now.
    func gauges() -> [Metrics.Gauge] {
        let now = loop.now
        let peers = membership.peerStatuses(now: now)
        let h = healer.stats
        let rebuild = rebuilder.progress(now: loop.iterationTime)
        func byPeer(_ value: (Membership.PeerStatus) -> Double?) -> [(labels: [(String, String)], value: Double)] {
            peers.compactMap { p in value(p).map { ([("peer", p.id.rawValue)], $0) } }
        }
        let stateNumber: [FailureDetector.State: Double] = [.online: 0, .suspect: 1, .offline: 2]
        var out: [Metrics.Gauge] = [
            .init(
                "devcluster_node_info", "This node (value 1).",
                [([("node", me.rawValue), ("version", Version.string)], 1)]),
            .init("devcluster_uptime_seconds", "Seconds since this node started.", now.since(startInstant).seconds),
            .init(
                "devcluster_peer_state", "How this node sees each peer: 0 online, 1 suspect, 2 offline.",
                byPeer { stateNumber[$0.state] }),
            .init(
                "devcluster_peer_heartbeat_age_seconds", "Seconds since each peer was last heard.",
                byPeer { $0.silence?.seconds }),
            .init(
                "devcluster_peers_online", "Members this node sees online, itself included.",
                Double(membership.onlineCount)),
            .init("devcluster_heal_queue_length", "Objects waiting to be healed.", Double(h.queued)),
            .init("devcluster_heal_running", "Heals running now.", Double(h.running)),
            .init("devcluster_healed_objects", "Objects healed since start.", Double(h.healed + h.removed)),
            .init("devcluster_heal_failed_objects", "Heals given up on since start.", Double(h.failed)),
            .init(
                "devcluster_missed_writes_pending", "Missed writes held for peers, to replay.", Double(h.missedPending)),
            .init(
                "devcluster_rebuilding", "1 while this node rebuilds its data from its peers.", rebuild == nil ? 0 : 1),
            .init(
                "devcluster_http_connections_open", "Client and peer connections open.", Double(server.connectionCount)),
            .init("devcluster_http_requests_in_flight", "Requests being answered.", Double(server.requestsInFlight)),
            .init(
                "devcluster_threadpool_jobs_in_flight", "Jobs on libuv's thread pool, by queue.",
                [
                    ([("queue", "disk")], Double(diskQueue.inFlight)),
                    ([("queue", "coding")], Double(codingQueue.inFlight)),
                ]),
            .init(
                "devcluster_threadpool_jobs_queued", "Jobs waiting for the thread pool, by queue.",
                [([("queue", "disk")], Double(diskQueue.queued)), ([("queue", "coding")], Double(codingQueue.queued))]),
        ]
        out.append(
            .init(
                "devcluster_event_stream_subscribers", "Event streams (SSE) open on this node.",
                Double(eventStream.subscriberCount)))
        out.append(
            .init(
                "devcluster_internode_calls_total", "Storage calls this node made to its peers, by call.",
                traffic.calls.sorted { $0.key < $1.key }.map { ([("call", $0.key)], Double($0.value)) }, counter: true))
        out.append(
            .init(
                "devcluster_internode_requests_total",
                "HTTP requests carrying those calls (a batch carries several; a shard stream is one).",
                Double(traffic.requests), counter: true))
        let cache = disk.metadataCache.stats
        out.append(
            .init(
                "devcluster_metadata_cache_hits_total", "Object metadata reads served from memory.", Double(cache.hits),
                counter: true))
        out.append(
            .init(
                "devcluster_metadata_cache_misses_total", "Object metadata reads that went to the disk.",
                Double(cache.misses), counter: true))
        out.append(.init("devcluster_metadata_cache_bytes", "Memory the metadata cache holds.", Double(cache.bytes)))
        let hooks = notifier.stats
        if !hooks.isEmpty {
            out.append(
                .init(
                    "devcluster_webhook_delivered_events", "Object events a webhook took, since start.",
                    hooks.map { ([("webhook", $0.id)], Double($0.delivered)) }))
            out.append(
                .init(
                    "devcluster_webhook_dropped_events",
                    "Object events given up on (queue full, or refused after every retry), since start.",
                    hooks.map { ([("webhook", $0.id)], Double($0.dropped)) }))
            out.append(
                .init(
                    "devcluster_webhook_queued_events", "Object events waiting for a webhook.",
                    hooks.map { ([("webhook", $0.id)], Double($0.queued)) }))
        }
        if let r = rebuild {
            out.append(.init("devcluster_rebuild_objects_done", "Objects rebuilt so far.", Double(r.objectsDone)))
            out.append(.init("devcluster_rebuild_objects_total", "Objects to rebuild.", Double(r.objectsTotal)))
            out.append(.init("devcluster_rebuild_bytes_done", "Bytes rebuilt so far.", Double(r.bytesDone)))
            out.append(.init("devcluster_rebuild_bytes_total", "Bytes to rebuild.", Double(r.bytesTotal)))
        }
        let load = currentLoad()
        if let space = load.diskFreeBytes {
            out.append(
                .init("devcluster_disk_free_bytes", "Free bytes on the data folder's file system.", Double(space)))
        }
        if let total = load.diskTotalBytes {
            out.append(.init("devcluster_disk_total_bytes", "Size of the data folder's file system.", Double(total)))
        }
        return out
    }
}
