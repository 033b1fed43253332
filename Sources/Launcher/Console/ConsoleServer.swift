import Admin
import Core
import FoundationEssentials
import HTTP
import Loop

#if canImport(Glibc)
import Glibc
#endif

/// `devcluster ui`: a console for one cluster, served by the launcher on loopback. It reaches every node
/// itself (a poller thread probes them once a second, so the console keeps working while any node is
/// down), merges every node's events and the launcher's own into one timeline (read from their logs),
/// and runs the controls as devcluster commands of their own. Login with the cluster's credentials
/// leaves a session cookie; every control also needs the session's CSRF token. Loop-bound; probes and
/// commands block, so they run on the loop's thread pool and hand their results back.
public final class ConsoleServer {
    /// How often the poller asks every node for its status (the page asks this server as often).
    static let pollInterval: Duration = .seconds(1)
    /// Events kept for the pages (older ones drop off the front).
    static let eventsMax = 20_000
    /// Events a page gets in one answer.
    static let eventsPerAnswerMax = 2_000
    /// Output of a control kept for the page (its tail: where the error is).
    static let outputBytesMax = 64 << 10
    /// How often the logs are read for new events, however many pages ask.
    static let eventReadInterval: Duration = .milliseconds(500)
    /// Controls running at once.
    static let actionsInFlightMax = 4
    /// Events asked of one node of a deployment devcluster did not start in one request, and the
    /// requests of one probe (a node's whole log of 10 000 events takes a few probes at first).
    static let remoteEventsPerPageMax = 1000
    static let remotePagesPerProbeMax = 4
    /// libuv's pool for the console: the controls, the probe and a scenario's step block a thread
    /// each, and the resolver and file calls need some left (libuv's default is 4).
    public static let threadPoolSize = 8

    let loop: EventLoop
    let launcher: Launcher
    var nodeCount: Int { record.nodes.count }
    let session: Session
    private var server: HTTPServer?
    private var revoked = SessionRevocations()
    private var throttle = LoginThrottle()
    private var state = "null"
    /// The endpoints of the nodes that answered the last probe, in order: where object calls go.
    var answering: [HTTPEndpoint] = []
    /// The console's own requests to the nodes (object browser, shard maps, uploads).
    let client: HTTPClient
    /// The cluster as last read from its home (a scenario's `up --fresh` makes it anew).
    private(set) var record: ClusterRecord
    /// When the probe behind `state` began (wall clock, ms): the page must not let it overrule events
    /// that came after.
    private var stateAt: Int64 = 0
    /// A deployment devcluster did not start: where the console is in each node's event log.
    private var remoteAfter: [String: RemoteCursor] = [:]
    private var charts = NodeCharts()
    private var cursors: [Timeline.Cursor]
    /// Every event read so far, in the order read; `eventBase` is the index of the first one kept.
    private var events: [Event] = []
    private var eventBase = 0
    private var eventsReadAt: Instant?
    private var actionsInFlight = 0
    /// Probes and commands (each blocks a pool thread: a probe up to a second, a command until it ends).
    let work: WorkQueue
    private var pollTimer: Timer?
    private var signals: [SignalWatcher] = []
    private(set) var isStopping = false
    /// The guided scenario open in the console, if any.
    var guide: ScenarioGuide?

    public init(launcher: Launcher, record: ClusterRecord) throws(UVError) {
        loop = try EventLoop()
        work = WorkQueue(
            loop: loop, label: "console work",
            limits: .init(
                // The controls, the probe, and a scenario's step.
                inFlightMax: ConsoleServer.actionsInFlightMax + 2, queuedMax: ConsoleServer.actionsInFlightMax))
        self.launcher = launcher
        self.record = record
        client = HTTPClient(loop: loop, tls: launcher.tls)
        session = Session(accessKey: record.accessKey, secretKey: record.secretKey, purpose: .console)
        // A deployment devcluster did not start has no logs here: its events come over HTTP.
        cursors =
            launcher.isRemote
            ? []
            : [Timeline.Cursor(path: launcher.home.eventsPath)]
                + record.nodes.map { Timeline.Cursor(path: launcher.home.logPath($0.id)) }
    }

    /// Listens on `address` (port 0: any free one) and answers the bound address.
    public func listen(on address: SocketAddress) throws -> SocketAddress {
        let server = try HTTPServer(loop: loop) { [unowned self] request, response in route(request, response) }
        let bound = try server.listen(on: address)
        self.server = server
        readEvents()
        return bound
    }

    /// Serves until SIGINT or SIGTERM.
    public func run() throws {
        for signum in [SIGINT, SIGTERM] {
            let watcher = try SignalWatcher(loop: loop, label: "console signal \(signum)")
            try watcher.start(signum) { [unowned self] _ in stop() }
            signals.append(watcher)
        }
        pollTimer = try Timer(loop: loop, label: "console poll")
        probe()
        loop.run()
        loop.close()
    }

    private func stop() {
        isStopping = true
        for watcher in signals { watcher.close() }
        signals = []
        pollTimer?.close()
        pollTimer = nil
        guide?.run.cancel()
        work.cancelWaiting()
        client.close()
        server?.close()
    }

    // MARK: Probing

    /// Probes every node (a probe waits up to a second for an answer) off the loop, keeps the status
    /// document for the pages, and goes again a second after it began.
    private func probe() {
        let home = launcher.home
        let environment = launcher.environment
        let executable = launcher.executable
        let isRemote = launcher.isRemote
        let given = record
        let after = remoteAfter
        let began = loop.now
        let beganWall = WallTime.now().millisecondsSinceEpoch
        do {
            try work.submit(
                { () -> ProbeResult in
                    let prober = Launcher(home: home, environment: environment, executable: executable, say: { _ in })
                    prober.isRemote = isRemote
                    // A deployment devcluster did not start has no home: its members are as given.
                    guard let record = isRemote ? given : try? home.load() else { return ProbeResult() }
                    let snapshot = prober.snapshot(record)
                    var result = ProbeResult(
                        state: snapshot.document(record, home: isRemote ? nil : home).text,
                        samples: ConsoleServer.samples(snapshot, record, prober),
                        endpoints: snapshot.nodes.filter { $0.status != nil }.map(\.endpoint), record: record,
                        remoteAfter: after)
                    if isRemote {
                        (result.remoteEvents, result.remoteAfter) = ConsoleServer.remoteEvents(
                            snapshot, record, prober, after: after)
                    }
                    return result
                },
                then: { [unowned self] outcome in
                    if case .success(let result) = outcome {
                        if let loaded = result.record { adopt(loaded) }
                        state = result.state
                        answering = result.endpoints.compactMap { HTTPEndpoint(url: $0) }
                        stateAt = beganWall
                        for (node, sample) in result.samples {
                            if let sample { charts.add(node, sample) } else { charts.missed(node) }
                        }
                        if isRemote {
                            remoteAfter = result.remoteAfter
                            append(result.remoteEvents)
                        }
                    }
                    guard !isStopping, let timer = pollTimer else { return }
                    timer.start(after: max(.zero, ConsoleServer.pollInterval - loop.now.since(began))) {
                        [unowned self] in probe()
                    }
                })
        } catch {
            // Every pool slot is running a control: probe again shortly.
            pollTimer?.start(after: ConsoleServer.pollInterval) { [unowned self] in probe() }
        }
    }

    /// What one probe found, handed back to the loop.
    struct ProbeResult: Sendable {
        var state = "null"
        var samples: [(String, NodeCharts.Sample?)] = []
        var endpoints: [String] = []
        var record: ClusterRecord?
        var remoteEvents: [Event] = []
        var remoteAfter: [String: RemoteCursor] = [:]
    }

    /// Where the console is in one remote node's event log: the node's run (its incarnation: a
    /// restarted node numbers its events from 1 again) and the last sequence read in it.
    struct RemoteCursor: Sendable, Equatable {
        var incarnation: UInt64
        var after: UInt64
    }

    /// The events of a deployment devcluster did not start, from each answering node's event log over
    /// HTTP (`/_dc/v1/events`, signed with the cluster key), after the last sequence read in the same
    /// run of the node (a new run is read from its start), a page after another until one comes back
    /// short (at most `remotePagesPerProbeMax`; the rest at the next probe).
    @Sendable static func remoteEvents(
        _ snapshot: ClusterSnapshot, _ record: ClusterRecord, _ prober: Launcher, after: [String: RemoteCursor]
    ) -> ([Event], [String: RemoteCursor]) {
        var cursors: [String: RemoteCursor] = [:]
        var targets: [String: Probe.Target] = [:]
        for node in snapshot.nodes {
            guard let incarnation = node.status?.node.incarnation else { continue }
            let known = after[node.id].flatMap { $0.incarnation == incarnation ? $0 : nil }
            cursors[node.id] = known ?? RemoteCursor(incarnation: incarnation, after: 0)
            targets[node.id] = Probe.Target(id: node.id, endpoint: node.endpoint)
        }
        var events: [Event] = []
        var reading = Set(targets.keys)
        for _ in 0..<ConsoleServer.remotePagesPerProbeMax where !reading.isEmpty {
            let requests = reading.sorted().map { id in
                let page = "?after=\(cursors[id]!.after)&limit=\(ConsoleServer.remoteEventsPerPageMax)"
                return (targets[id]!, Probe.request("GET", AdminPaths.events + page, key: prober.key(record)))
            }
            for (id, result) in Probe.send(requests, timeout: Launcher.probeTimeout, tls: prober.tls) {
                var count = 0
                if case .success(let r) = result, r.status == 200 {
                    for line in r.bodyText.split(separator: "\n") {
                        guard let event = Timeline.event(in: String(line)) else { continue }
                        events.append(event)
                        count += 1
                        cursors[id]!.after = max(cursors[id]!.after, event.sequence)
                    }
                }
                if count < ConsoleServer.remoteEventsPerPageMax { reading.remove(id) }
            }
        }
        // Nodes not answering now keep their place for when they do.
        return (Timeline.sorted(events), after.merging(cursors) { _, new in new })
    }

    /// The cluster as its home now has it. A cluster made anew (`up --fresh`, as a scenario's first
    /// step does) has new log files, read from their start; a node list that changed gets its logs read too.
    private func adopt(_ loaded: ClusterRecord) {
        if loaded.createdAt != record.createdAt || loaded.deploymentId != record.deploymentId {
            cursors =
                [Timeline.Cursor(path: launcher.home.eventsPath)]
                + loaded.nodes.map { Timeline.Cursor(path: launcher.home.logPath($0.id)) }
        } else if loaded.nodes.map(\.id) != record.nodes.map(\.id) {
            // Cursors of files already read go on where they were (index 0 is the launcher's events).
            var known: [String: Timeline.Cursor] = [:]
            for (i, node) in record.nodes.enumerated() { known[node.id] = cursors[i + 1] }
            cursors =
                [cursors[0]] + loaded.nodes.map { known[$0.id] ?? Timeline.Cursor(path: launcher.home.logPath($0.id)) }
        }
        record = loaded
    }

    /// Each answering node's metrics and status as a chart sample (nil: it did not answer).
    @Sendable static func samples(
        _ snapshot: ClusterSnapshot, _ record: ClusterRecord, _ prober: Launcher
    )
        -> [(String, NodeCharts.Sample?)]
    {
        let answering = snapshot.nodes.filter { $0.status != nil }
        let requests = answering.map {
            (
                Probe.Target(id: $0.id, endpoint: $0.endpoint),
                Probe.request("GET", AdminPaths.metrics, key: prober.key(record))
            )
        }
        let answers = Probe.send(requests, timeout: Launcher.probeTimeout, tls: prober.tls)
        let at = Instant.now()
        let wall = WallTime.now().millisecondsSinceEpoch
        return snapshot.nodes.map { node in
            guard let status = node.status, case .success(let r)? = answers[node.id], r.status == 200 else {
                return (node.id, nil)
            }
            let load = status.load
            let used = load.diskTotalBytes.flatMap { total in load.diskFreeBytes.map { Double(total - min(total, $0)) }
            }
            return (
                node.id,
                NodeCharts.sample(
                    metrics: r.bodyText, healed: status.healing?.healed, diskUsedBytes: used, at: at, wallMs: wall)
            )
        }
    }

    // MARK: Routes

    private func route(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let head = request.head
        switch (head.method, String(head.path)) {
        case ("GET", "/"):
            guard let token = sessionToken(head) else { return page(response, 200, ConsolePage.login(error: nil)) }
            page(
                response, 200,
                ConsolePage.main(
                    cluster: launcher.isRemote ? launcher.location(record) : launcher.home.name,
                    csrf: session.csrfToken(for: token), controls: !launcher.isRemote))
        case ("POST", "/login"): login(request, response)
        case ("POST", "/logout"):
            if let token = sessionToken(head) { revoked.add([token.id: token.expires], now: .now()) }
            response.send(
                status: 303, headers: ["Location": "/", "Set-Cookie": cookie("", maxAge: 0)])
        case ("GET", "/api/poll"):
            guard sessionToken(head) != nil else { return text(response, 401, "log in first") }
            poll(request, response)
        case ("GET", "/api/scenarios"):
            guard sessionToken(head) != nil else { return text(response, 401, "log in first") }
            listScenarios(response)
        case ("GET", "/api/buckets"), ("GET", "/api/shards"), ("GET", "/api/bucket"),
            ("GET", "/api/versions"), ("GET", "/api/deleted"), ("GET", "/api/folder"):
            guard sessionToken(head) != nil else { return text(response, 401, "log in first") }
            forwardToDashboard(request, response)
        case ("POST", "/api/action"), ("POST", "/api/link"), ("POST", "/api/bucket"), ("POST", "/api/delete"),
            ("POST", "/api/versioning"), ("POST", "/api/delete-bucket"), ("PUT", "/api/upload"),
            ("POST", "/api/multipart"), ("POST", "/api/scenario"):
            guard let token = sessionToken(head) else { return text(response, 401, "log in first") }
            guard let given = head.headers["X-Csrf-Token"], session.acceptsCSRF(given, for: token) else {
                return text(response, 403, "missing or wrong CSRF token: reload the console")
            }
            // A browser names the page that sends a request: only the console's own pages may change things.
            if let origin = head.headers["Origin"], origin != "http://" + (head.headers["Host"] ?? "") {
                return text(response, 403, "a request from another site (\(origin)) is refused")
            }
            if launcher.isRemote, ["/api/action", "/api/scenario"].contains(String(head.path)) {
                return text(
                    response, 409,
                    "devcluster did not start this deployment: its nodes are controlled on their hosts (systemctl, docker, kubectl)"
                )
            }
            switch String(head.path) {
            case "/api/action": act(request, response)
            case "/api/upload": upload(request, response)
            case "/api/multipart": multipart(request, response)
            case "/api/scenario": scenarioCall(request, response)
            default: objectCall(request, response)
            }
        default:
            text(response, 404, "no such page")
        }
    }

    private func sessionToken(_ head: HTTPRequestHead) -> Session.Token? {
        session.token(inCookieHeader: head.headers["Cookie"], now: .now(), revoked: revoked)
    }

    private func cookie(_ value: String, maxAge: Int64) -> String {
        "\(session.cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
    }

    private func login(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let source = request.remoteAddress?.host ?? ""
        if let wait = throttle.wait(for: source, now: loop.iterationTime) {
            return page(
                response, 429,
                ConsolePage.login(error: "Too many failed logins: try again in \(DurationText.format(wait))."))
        }
        request.readBody(limit: 8 << 10) { [unowned self] result in
            guard case .success(let body) = result,
                let form = QueryParameters(parsing: Substring(String(decoding: body, as: UTF8.self)))
            else { return page(response, 400, ConsolePage.login(error: "The form did not arrive whole.")) }
            guard session.accepts(accessKey: form["accessKey"] ?? "", secretKey: form["secretKey"] ?? "") else {
                _ = throttle.failed(source, now: loop.iterationTime)
                return page(
                    response, 401, ConsolePage.login(error: "Those are not this cluster's access and secret key."))
            }
            throttle.succeeded(source)
            response.send(
                status: 303,
                headers: [
                    "Location": "/", "Set-Cookie": cookie(session.issue(now: .now()), maxAge: Session.lifetime / 1000),
                ])
        }
    }

    /// The cluster's status and the events after `?after=N`, in one answer (a page asks once a second).
    private func poll(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        readEvents()
        let query = QueryParameters(parsing: request.head.query) ?? QueryParameters()
        let after = max(eventBase, min(Int(query["after"] ?? "") ?? 0, eventBase + events.count))
        let from = max(after, eventBase + events.count - ConsoleServer.eventsPerAnswerMax)
        let fresh = events[(from - eventBase)...].map(\.json)
        let lines = JSONValue.object(
            charts.points.sorted { $0.key < $1.key }.map { node, points in
                (
                    node,
                    .array(
                        points.map { p in
                            .array([
                                .int(p.wallMs), .double(p.requestsPerSecond), .double(p.megabytesInPerSecond),
                                .double(p.megabytesOutPerSecond), p.p99Milliseconds.map { .double($0) } ?? .null,
                                .double(p.healedPerSecond), p.diskUsedGigabytes.map { .double($0) } ?? .null,
                            ])
                        })
                )
            })
        let body =
            "{\"state\":\(state),\"stateAt\":\(stateAt),\"next\":\(eventBase + events.count),\"events\":\(JSONValue.array(fresh).text),"
            + "\"charts\":\(lines.text),\"scenario\":\((guide?.document ?? .null).text)}"
        response.send(
            status: 200, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"],
            body: Array(body.utf8))
    }

    /// Appends what the logs gained since the last read, in time order.
    private func readEvents() {
        let now = loop.iterationTime
        if let last = eventsReadAt, now.since(last) < ConsoleServer.eventReadInterval { return }
        eventsReadAt = now
        append(Timeline.sorted(cursors.indices.flatMap { cursors[$0].readEvents() }))
    }

    /// Keeps `fresh` events for the pages (the oldest drop off past `eventsMax`).
    private func append(_ fresh: [Event]) {
        events += fresh
        if events.count > ConsoleServer.eventsMax {
            let dropped = events.count - ConsoleServer.eventsMax
            events.removeFirst(dropped)
            eventBase += dropped
        }
    }

    // MARK: Controls

    private func act(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        guard actionsInFlight < ConsoleServer.actionsInFlightMax else {
            return text(response, 429, "\(actionsInFlight) controls are still running: wait for one to finish")
        }
        request.readBody(limit: 8 << 10) { [unowned self] result in
            let action: ConsoleAction
            do throws(ConsoleActionError) {
                guard case .success(let body) = result, let json = try? JSONValue.parse(body) else {
                    throw ConsoleActionError("the body must be a JSON object")
                }
                action = try ConsoleAction.parse(json, nodeCount: nodeCount)
            } catch {
                return text(response, 400, error.description)
            }
            let command = action.arguments + ["--home", launcher.home.root, "--name", launcher.home.name]
            let executable = launcher.executable
            let environment = launcher.environment.merging(["NO_COLOR": "1"]) { _, new in new }
            actionsInFlight += 1
            do {
                try work.submit(
                    {
                        ProcessControl.runToEnd(
                            executable, command, environment: environment, outputBytesMax: ConsoleServer.outputBytesMax)
                    },
                    then: { [unowned self] result in
                        actionsInFlight -= 1
                        let (status, output) = (try? result.get()) ?? (1, "the command did not run")
                        let answer = JSONValue.object([
                            ("ok", .bool(status == 0)), ("exitCode", .int(Int64(status))),
                            ("command", .string((["devcluster"] + action.arguments).joined(separator: " "))),
                            ("output", .string(output)),
                        ])
                        response.send(
                            status: 200, headers: ["Content-Type": "application/json"], body: Array(answer.text.utf8))
                    })
            } catch {
                actionsInFlight -= 1
                text(response, 429, "too many controls running: wait for one to finish")
            }
        }
    }

    // MARK: Answers

    private func page(_ response: HTTPServerResponse, _ status: Int, _ html: String) {
        response.send(status: status, headers: DashboardPage.pageHeaders, body: Array(html.utf8))
    }

    func sendJSON(_ response: HTTPServerResponse, _ value: JSONValue) {
        response.send(status: 200, headers: ["Content-Type": "application/json"], body: Array(value.text.utf8))
    }

    func text(_ response: HTTPServerResponse, _ status: Int, _ message: String) {
        response.send(
            status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array((message + "\n").utf8))
    }
}
