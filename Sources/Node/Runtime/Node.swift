import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP
import Loop
import S3
import Storage
import TLS

#if canImport(Glibc)
import Glibc
#endif

/// One storage node: the HTTP server, the peer client, membership and admin endpoints, driven by one
/// timer on one loop. Loop-bound.
public final class Node {
    public let config: NodeConfig
    public let me: NodeID
    public let incarnation: UInt64
    let loop: EventLoop
    let log: Logger
    let server: HTTPServer
    let client: HTTPClient
    let membership: Membership
    let events = EventLog()
    let key: ClusterKey
    let gate: InternodeGate
    public let set: ErasureSet
    let disk: Disk
    let objects: ObjectLayer
    let storage: StorageService
    let healer: Healer
    let rebuilder: Rebuilder
    let scanner: Scanner
    let lifecycle: LifecycleRunner
    let metrics = Metrics()
    let traffic = InternodeTraffic()
    let session: Session
    let eventStream: EventStream
    let faults: FaultState
    let notifier: Notifier
    let diskQueue: WorkQueue
    let codingQueue: WorkQueue
    let s3: S3API
    let startedAt = WallTime.now()
    let startInstant: Instant
    let listenAddress: SocketAddress
    private var tickTimer: Timer?
    private var signals: [SignalWatcher] = []
    private var requestRate = RateMeter()
    private var diskSpace: FileSystem.DiskSpace?
    private var nextDiskSample: Instant
    private var requestCounter: UInt64 = 0
    /// Failed logins and Basic auth attempts by source address.
    var loginThrottle = LoginThrottle()
    /// Dashboard sessions logged out before they expire.
    var revocations = SessionRevocations()
    private var nextRevocationSync: Instant
    public private(set) var isShuttingDown = false
    private var pendingShutdownSteps = 0

    /// How often the node's one timer fires: a quarter of the heartbeat interval, at most 100 ms.
    var tickInterval: Duration {
        min(.milliseconds(100), max(.milliseconds(10), config.cluster.heartbeat.interval / 4))
    }
    static let diskSampleInterval: Duration = .seconds(5)
    /// How long a stopping node waits for in-flight requests before closing them.
    public static let shutdownGrace: Duration = .seconds(10)
    /// `1` breaks every quorum on purpose (ErasureSet.unsafeHalfQuorums): tests only.
    public static let unsafeHalfQuorumsEnvironment = "DEVNODE_UNSAFE_HALF_QUORUMS"
    static let leaveTimeout: Duration = .milliseconds(500)
    /// Events returned by one `/_dc/v1/events` call, by default and at most.
    static let eventsPageDefault = 1000
    static let eventsPageMax = 10_000
    /// Blocking disk calls at once (the thread pool also serves uv_fs, and has `threadPoolSize` threads).
    static let diskJobsMax = 4
    /// Hashing and erasure-coding jobs at once: one per core, so the loop thread keeps one too.
    static let codingJobsMax = 2
    static let queuedJobsMax = 4096
    /// libuv's thread pool size, set before the loop starts (unless the environment chose one).
    public static let threadPoolSize = 8

    /// `newCluster`: the launcher is creating the cluster, so an empty data folder is simply new (else
    /// the node asks its peers whether it lost data it must rebuild).
    /// `faultsFile`: the operator's wanted fault table (devcluster's `faults.json`), applied at start
    /// when it is newer than the one this node saved.
    public init(
        config: NodeConfig, loop: EventLoop, logger: Logger, newCluster: Bool = false, faultsFile: String? = nil
    ) throws(NodeStartError) {
        self.config = config
        self.loop = loop
        self.log = logger
        self.me = config.cluster.nodeID
        self.startInstant = loop.now
        self.nextDiskSample = loop.now
        self.nextRevocationSync = loop.now
        var routeTarget: HTTPServer.Handler?
        let limits = Node.serverLimits(
            descriptors: Loop.Process.raiseOpenFileLimit(), peers: config.members.count - 1, log: logger)
        var tls: (server: TLSContext, client: TLSContext)?
        if let folder = config.certificates {
            do {
                tls = (try folder.serverContext(), try folder.clientContext())
            } catch {
                throw .tls(folder: folder.path, reason: error.reason)
            }
        }
        let httpServer: HTTPServer
        do {
            httpServer = try HTTPServer(loop: loop, limits: limits, tls: tls?.server, handler: { routeTarget?($0, $1) })
        } catch {
            throw .listen(address: config.cluster.listen, reason: error.description)
        }
        // Listening before the data folder is touched: a node whose port is taken changes nothing on disk.
        let (host, port) = config.listenHostPort
        let bindHost = host.isEmpty ? "0.0.0.0" : host
        do {
            listenAddress = try SocketAddress(ip: bindHost, port: port)
        } catch {
            throw .listen(address: config.cluster.listen, reason: "\(bindHost) is not a numeric address")
        }
        do {
            try httpServer.listen(on: listenAddress)
        } catch {
            httpServer.close()
            if error.isAddressInUse { throw .portBusy(address: "\(listenAddress)", detail: "") }
            throw .listen(address: "\(listenAddress)", reason: error.message)
        }
        server = httpServer
        var emitTarget: ((Event) -> Void)?
        let formattedNow: Bool
        let savedRebuild: HealingState?
        do throws(NodeStartError) {
            let dataDirectory = config.dataDirectory
            do {
                try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            } catch {
                throw .dataDirectory(path: dataDirectory, reason: "cannot create it: \(error)")
            }
            guard access(dataDirectory, W_OK) == 0 else {
                throw .dataDirectory(path: dataDirectory, reason: "not writable by this user")
            }
            incarnation = try Incarnation.next(dataDirectory: dataDirectory)
            key = ClusterKey(
                accessKey: config.credential.accessKey, secretKey: config.credential.secretKey,
                clockSkewMax: config.cluster.internodeClockSkewMax)
            gate = InternodeGate(key: key, log: logger, startedAt: startedAt)
            client = HTTPClient(loop: loop, tls: tls?.client)
            membership = Membership(
                me: me, incarnation: incarnation, members: config.members, timing: config.cluster.heartbeat, loop: loop,
                client: client,
                key: key, log: logger, emit: { emitTarget?($0) })
            do {
                var shape = try ErasureSet(nodes: config.members.count, parity: config.cluster.parity)
                if getenv(Node.unsafeHalfQuorumsEnvironment).map({ String(cString: $0) }) == "1" {
                    shape.unsafeHalfQuorums = true
                    logger.warn(
                        "UNSAFE BUILD FOR TESTS: \(Node.unsafeHalfQuorumsEnvironment)=1 half the nodes acknowledge writes and grant locks: a split loses data"
                    )
                }
                set = shape
            } catch {
                throw .config(ConfigError(source: "config", key: "cluster.parity", problem: error.description, fix: ""))
            }
            (disk, formattedNow) = try DataFolder.open(
                config: config, deploymentID: config.cluster.deploymentID ?? membership.clusterID, set: set, log: logger
            )
            savedRebuild = try? disk.readHealingState()
        } catch {
            httpServer.close()
            throw error
        }
        let io = WorkQueue(
            loop: loop, label: "disk", limits: .init(inFlightMax: Node.diskJobsMax, queuedMax: Node.queuedJobsMax))
        let coding = WorkQueue(
            loop: loop, label: "coding", limits: .init(inFlightMax: Node.codingJobsMax, queuedMax: Node.queuedJobsMax))
        let local = LocalStore(id: me, disk: disk, loop: loop, queue: io)
        diskQueue = io
        codingQueue = coding
        let client = self.client
        let key = self.key
        let traffic = self.traffic
        let stores: [ShardStore] = config.members.map { member in
            guard member.id != config.cluster.nodeID, let endpoint = HTTPEndpoint(url: member.url) else { return local }
            return RemoteStore(
                id: member.id, endpoint: endpoint, client: client, key: key, caller: config.cluster.nodeID,
                traffic: traffic)
        }
        let nodeID = config.cluster.nodeID
        let membership = self.membership
        objects = ObjectLayer(set: set, stores: stores, loop: loop, coding: coding) { id in
            id == nodeID || membership.state(of: id) != .offline
        }
        local.onBucketChanged = { [unowned layer = objects] in layer.forgetBucket($0) }
        storage = StorageService(local: local)
        let emitHealing: (Event) -> Void = { emitTarget?($0) }
        healer = Healer(
            layer: objects, local: local, log: logger, onlineSince: { membership.onlineSince($0) }, emit: emitHealing)
        rebuilder = Rebuilder(
            layer: objects, local: local, formattedAt: formattedNow && !newCluster ? WallTime.now() : nil,
            saved: savedRebuild, log: logger,
            emit: emitHealing)
        scanner = Scanner(
            layer: objects, local: local, healer: healer, limits: config.cluster.scanner, emit: emitHealing)
        // The periodic lifecycle passes run on the first node (by id) that is online.
        let memberIDs = config.members.map(\.id)
        lifecycle = LifecycleRunner(
            layer: objects, me: nodeID,
            leads: { memberIDs.filter { $0 == nodeID || membership.state(of: $0) != .offline }.min() == nodeID },
            emit: emitHealing)
        let domains =
            ["localhost"] + (ProcessInfoLite.environment("MINIO_DOMAIN")?.split(separator: ",").map(String.init) ?? [])
        s3 = S3API(
            layer: objects, accessKey: config.credential.accessKey, secretKey: config.credential.secretKey,
            region: config.region, domains: domains)
        // Errors the HTTP layer answers by itself reach S3 clients as S3 error documents.
        server.renderError = { status, message in
            let error = S3Error.forHTTPStatus(status, message)
            return (error.status, "application/xml", Array(error.xml(resource: "/", requestID: "").utf8))
        }
        session = Session(accessKey: config.credential.accessKey, secretKey: config.credential.secretKey)
        eventStream = EventStream(loop: loop, log: events)
        faults = FaultState(dataDirectory: config.dataDirectory, wanted: faultsFile)
        notifier = Notifier(
            loop: loop, client: client,
            targets: config.webhooks.filter(\.enable).map { .init(id: $0.id, url: $0.endpoint) },
            region: config.region, principal: config.credential.accessKey, origin: config.ownURL ?? "", log: logger)
        emitTarget = { [unowned self] in self.emit($0) }
        s3.onObjectEvent = { [unowned self] in self.notifier.notify($0) }
        s3.webhookIDs = Set(config.webhooks.filter(\.enable).map(\.id))
        s3.onRequestEnded = { [unowned self] operation, status, seconds, received, sent in
            self.metrics.recordRequest(
                operation: operation, status: status, seconds: seconds, received: received, sent: sent)
        }
        routeTarget = { [unowned self] in self.route($0, $1) }
        membership.load = { [unowned self] in self.currentLoad() }
        membership.health = { [unowned self] in
            self.isShuttingDown ? "stopping" : self.rebuilder.isHealing ? Membership.healingHealth : "ok"
        }

        objects.healing = { [unowned self] in healingNodes }
        objects.onMissedWrite = { [unowned self] missed in
            self.log.info(
                "a write missed nodes",
                [
                    ("bucket", .string(missed.bucket)), ("key", .string(missed.key)),
                    ("nodes", .array(missed.nodes.map { .string($0.rawValue) })),
                ])
        }
        objects.onDegradedRead = { [unowned self] read in self.degradedRead(read) }
        objects.avoidsSlowNodes = config.cluster.slowNodeAvoidance
    }

    /// Descriptors kept for everything but client connections: data files, the log, the loop's own.
    static let descriptorsReserved = 128

    /// The server's limits, with `connectionsMax` lowered to what the descriptor limit leaves once
    /// peer connections and files have their share (else a flood would fail accepts, not get its 503).
    static func serverLimits(descriptors: Int, peers: Int, log: Logger) -> HTTPServerLimits {
        var limits = HTTPServerLimits()
        let peerConnections = peers * HTTPClientLimits().connectionsPerEndpointMax
        let room = max(16, descriptors - peerConnections - Node.descriptorsReserved)
        if room < limits.connectionsMax {
            log.warn(
                "the open-files limit (\(descriptors)) leaves room for \(room) client connections, not \(limits.connectionsMax): raise it with ulimit -n",
                [("descriptors", .int(Int64(descriptors)))])
            limits.connectionsMax = room
        }
        return limits
    }

    /// Starts the timer and the signal handlers (the node listens from its creation; the loop serves
    /// once it runs).
    public func start() throws(NodeStartError) {
        installFaults()
        loadRevocations()
        let timer: Timer
        do {
            timer = try Timer(loop: loop, label: "node tick")
            for signum in [SIGTERM, SIGINT] {
                let watcher = try SignalWatcher(loop: loop, label: "signal \(signum)")
                try watcher.start(signum) { [unowned self] signum in
                    self.stop(reason: signum == SIGTERM ? "SIGTERM" : "SIGINT")
                }
                signals.append(watcher)
            }
            let hup = try SignalWatcher(loop: loop, label: "signal SIGHUP")
            try hup.start(SIGHUP) { [unowned self] _ in self.log.info("SIGHUP ignored: devnode has nothing to reload") }
            signals.append(hup)
        } catch {
            throw .setup(reason: "cannot set up the node's timer and signal handlers: \(error)")
        }
        tickTimer = timer
        timer.start(after: .zero, repeating: tickInterval) { [unowned self] in self.tick() }
        log.info(
            "devnode \(Version.string) serving",
            [
                ("endpoint", .string(config.ownURL ?? "")), ("listen", .string("\(listenAddress)")),
                ("incarnation", .int(Int64(incarnation))),
                ("members", .int(Int64(config.members.count))), ("dataDir", .string(config.dataDirectory)),
                ("pid", .int(Int64(getpid()))),
            ])
        emit(
            Event(
                source: me.rawValue, kind: .nodeStarted,
                fields: [
                    ("incarnation", .int(Int64(incarnation))), ("endpoint", .string(config.ownURL ?? "")),
                    ("pid", .int(Int64(getpid()))),
                ]))
    }

    /// Runs until the node has stopped; returns the process exit code.
    public func run() -> Int32 {
        loop.run()
        log.info("stopped", [("uptimeMs", .int(loop.now.since(startInstant).milliseconds))])
        return 0
    }

    func emit(_ event: Event) {
        let numbered = events.append(event)
        metrics.recordEvent(event.kind)
        eventStream.publish(numbered)
        log.event(numbered)
    }

    /// The online nodes rebuilding their data (this one included): write targets, not read sources.
    var healingNodes: Set<NodeID> { membership.healingPeers.union(rebuilder.isHealing ? [me] : []) }

    private func tick() {
        let now = loop.now
        membership.tick(now: now)
        rebuilder.tick(now: loop.iterationTime)
        healer.tick(now: loop.iterationTime)
        scanner.tick(now: loop.iterationTime, paused: rebuilder.isHealing || isShuttingDown)
        if !isShuttingDown { lifecycle.tick(now: loop.iterationTime) }
        let wall = WallTime.now()
        if faults.active.contains(where: { !$0.isActive(at: wall) }) { noteFaultChanges(cause: "expired") }
        if now >= nextRevocationSync && config.browser {
            nextRevocationSync = now + Node.revocationSyncInterval
            syncRevocations()
        }
        if now >= nextDiskSample {
            nextDiskSample = now + Node.diskSampleInterval
            FileSystem.diskSpace(loop: loop, path: config.dataDirectory) { [weak self] result in
                if case .success(let space) = result { self?.diskSpace = space }
            }
        }
    }

    /// A read that worked around shards heals them (and a shard that failed its checksum is news).
    func degradedRead(_ read: DegradedRead) {
        log.warn(
            "degraded read",
            [
                ("bucket", .string(read.bucket)), ("key", .string(read.key)),
                ("corrupt", .array(read.corrupt.map { .string($0.rawValue) })),
                ("missing", .array(read.missing.map { .string($0.rawValue) })),
            ])
        for node in read.corrupt {
            emit(
                Event(
                    source: me.rawValue, kind: .bitrotDetected,
                    fields: [
                        ("bucket", .string(read.bucket)), ("key", .string(read.key)),
                        ("shardNode", .string(node.rawValue)),
                        ("problem", .string("corrupt")), ("by", .string("read")),
                    ]))
        }
        var request = HealRequest(bucket: read.bucket, key: read.key)
        request.corrupt = Set(read.corrupt)
        request.only = Set(read.corrupt + read.missing)
        healer.enqueue(request, reason: "read", now: loop.iterationTime)
    }

    func currentLoad() -> NodeLoad {
        NodeLoad(
            requestsInFlight: server.requestsInFlight, requestsPerSecond: requestRate.perSecond(at: loop.now),
            diskFreeBytes: disk.isInjectedFull ? 0 : diskSpace?.availableBytes, diskTotalBytes: diskSpace?.totalBytes)
    }

    func nextRequestID() -> String {
        requestCounter += 1
        let value = (UInt64(truncatingIfNeeded: incarnation) << 24) ^ requestCounter
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    func noteRequest() {
        requestRate.record(at: loop.now)
    }

    // MARK: Stopping

    /// Graceful stop: stop accepting, tell peers, let in-flight requests finish (up to the grace), close
    /// everything, and let `run()` return. A second signal closes at once.
    public func stop(reason: String) {
        if isShuttingDown {
            log.warn("second stop request (\(reason)): closing now")
            server.close()
            finishStop()
            return
        }
        isShuttingDown = true
        emit(
            Event(
                source: me.rawValue, kind: .nodeStopping,
                fields: [("reason", .string(reason)), ("inFlight", .int(Int64(server.requestsInFlight)))]))
        eventStream.close()
        pendingShutdownSteps = 2
        server.shutdown(grace: Node.shutdownGrace) { [unowned self] in self.shutdownStepDone() }
        membership.announceLeave(timeout: Node.leaveTimeout) { [unowned self] in self.shutdownStepDone() }
    }

    private func shutdownStepDone() {
        pendingShutdownSteps -= 1
        if pendingShutdownSteps == 0 { finishStop() }
    }

    private func finishStop() {
        tickTimer?.close()
        tickTimer = nil
        for s in signals { s.close() }
        signals = []
        objects.close()
        notifier.close()
        client.close()
    }
}
