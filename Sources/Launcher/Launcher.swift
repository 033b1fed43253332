import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP
import Loop
import Node
import TLS

#if canImport(Glibc)
import Glibc
#endif

/// What `devcluster up` is asked for.
public struct UpOptions: Sendable {
    public var count: Int?
    public var basePort = 8080
    public var heartbeat = HeartbeatTiming()
    public var parity: Int?
    public var fresh = false
    public var accessKey: String?
    public var secretKey: String?
    /// Bucket notification webhooks (`http://` URLs) every node POSTs object events to.
    public var webhooks: [String] = []
    /// HTTPS everywhere, with certificates from a private CA made for the cluster.
    public var tls = false
    /// How long to wait for every node to see every other online.
    public var readyTimeout: Duration = .seconds(30)
    /// The flags given that only shape a new cluster (`--demo`, `--parity` ...): an existing one refuses
    /// them rather than ignore them.
    public var newClusterFlags: [String] = []

    public init() {}
}

/// The launcher's actions on one cluster home. Progress goes to `say`; errors are thrown.
public final class Launcher {
    public static let defaultCount = 4
    public static let defaultPort = 8080
    public static let devnodeEnvironment = "DEVCLUSTER_DEVNODE"
    /// How long `stop` waits for a graceful exit before SIGKILL (a node's own grace is 10 s).
    public static let stopTimeout: Duration = .seconds(12)
    public static let probeTimeout: Duration = .seconds(1)
    /// Readiness is polled often at first (a node serves about 15 ms after it is spawned), then less.
    static let firstPollInterval: Duration = .milliseconds(4)
    static let pollInterval: Duration = .milliseconds(50)

    public let home: ClusterHome
    let environment: [String: String]
    let executable: String
    public var say: (String) -> Void
    /// A deployment devcluster did not start (`remote`): its nodes are probed, never signalled.
    public internal(set) var isRemote = false

    /// What the launcher's own requests to HTTPS nodes are verified with: the cluster's authority
    /// (`up --tls`), the file `AWS_CA_BUNDLE` names, and the system's trust store. Made at first use:
    /// reading the trust store costs milliseconds a plain cluster's commands need not pay.
    public var tls: TLSContext? { trust.context }
    private let trust: LauncherTrust

    public init(home: ClusterHome, environment: [String: String], executable: String, say: @escaping (String) -> Void) {
        self.home = home
        self.environment = environment
        self.executable = realPath(executable)
        self.say = say
        var authorities = [home.authority.certificate]
        if let bundle = environment["AWS_CA_BUNDLE"], !bundle.isEmpty { authorities.append(bundle) }
        trust = LauncherTrust(authorities: authorities, say: say)
    }

    var devnodePath: String {
        environment[Launcher.devnodeEnvironment] ?? parentDirectory(executable) + "/devnode"
    }

    public func key(_ record: ClusterRecord) -> ClusterKey {
        ClusterKey(accessKey: record.accessKey, secretKey: record.secretKey)
    }

    func marker(_ id: String) -> String { home.configPath(id) }

    /// The node ids a selector names in this cluster.
    public func select(_ selector: String, in record: ClusterRecord) throws(LauncherError) -> [String] {
        do {
            return try NodeSelector(parsing: selector, nodeCount: record.nodes.count).ids
        } catch {
            throw .usage(error.description)
        }
    }

    public func processState(_ record: ClusterRecord, _ id: String) -> ProcessState {
        if isRemote { return .remote }
        guard let process = record.node(id)?.process else { return .stopped }
        return ProcessControl.state(of: process, marker: marker(id))
    }

    /// Records a launcher action (`at`: when it began, if before now, so the timeline shows the cause
    /// before its effects).
    public func note(_ action: String, _ target: String, _ detail: String, pid: Int32? = nil, at: WallTime = .now()) {
        var fields: [(String, JSONValue)] = [("target", .string(target)), ("detail", .string(detail))]
        if let pid { fields.append(("pid", .int(Int64(pid)))) }
        home.record(Event(time: at, source: "devcluster", kind: .launcher(action), fields: fields))
    }

    // MARK: up

    /// Creates the cluster (or restarts an existing one with the same ports and data), then waits until
    /// every node sees every other online.
    /// A node that fails to start makes `up` stop the nodes it had started, so a failed `up` leaves
    /// nothing half running.
    @discardableResult
    public func up(_ options: UpOptions) throws(LauncherError) -> ClusterRecord {
        let runningBefore: Set<String> =
            home.exists && !options.fresh
            ? Set((try? home.load()).map { r in r.nodes.map(\.id).filter { processState(r, $0) != .stopped } } ?? [])
            : []
        do {
            let record: ClusterRecord = try home.withLock { () throws(LauncherError) -> ClusterRecord in
                if home.exists && !options.fresh {
                    return try restart(options)
                }
                if home.exists {
                    let old = try home.load()
                    stopAll(old, signal: SIGKILL, timeout: .seconds(5))
                    try home.delete()
                    say("started over: deleted \(home.path)")
                }
                return try create(options)
            }
            try waitUntilReady(record, timeout: options.readyTimeout)
            return record
        } catch {
            if case .startFailed = error { stopStarted(except: runningBefore) }
            throw error
        }
    }

    /// Stops (gracefully, then SIGKILL) the nodes on record that `up` started.
    private func stopStarted(except runningBefore: Set<String>) {
        try? home.withLock { () throws(LauncherError) in
            guard home.exists else { return }
            var record = try home.load()
            let started = record.nodes.map(\.id).filter {
                !runningBefore.contains($0) && processState(record, $0) != .stopped
            }
            guard !started.isEmpty else { return }
            _ = stop(started, in: &record, signal: SIGTERM, timeout: .seconds(5))
            try home.save(record)
            say("stopped \(started.joined(separator: ", ")), started by this 'up', so nothing is left half running")
        }
    }

    private func restart(_ options: UpOptions) throws(LauncherError) -> ClusterRecord {
        var record = try home.load()
        if !options.newClusterFlags.isEmpty {
            throw .usage(
                "cluster '\(home.name)' already exists: \(options.newClusterFlags.joined(separator: ", ")) only shape a new cluster; "
                    + "run 'devcluster up' to restart it as it is, or add --fresh to start over (this deletes its data)"
            )
        }
        if let count = options.count, count != record.nodes.count {
            throw .usage(
                "cluster '\(home.name)' has \(record.nodes.count) nodes: run 'devcluster up' without a count to restart it, "
                    + "or 'devcluster up \(count) --fresh' to start over (this deletes its data)")
        }
        let stopped = record.nodes.map(\.id).filter { processState(record, $0) == .stopped }
        if stopped.isEmpty {
            say("cluster '\(home.name)' is already running")
        } else {
            try spawn(stopped, in: &record)
            try home.save(record)
            note("up", stopped.joined(separator: ","), "restarted with the same ports and data")
        }
        return record
    }

    private func create(_ options: UpOptions) throws(LauncherError) -> ClusterRecord {
        let count = options.count ?? Launcher.defaultCount
        guard (1...16).contains(count) else { throw .usage("a cluster has 1 to 16 nodes, not \(count)") }
        do {
            try options.heartbeat.validate()
        } catch {
            throw .usage("--heartbeat-interval/--dead-after: \(error.description)")
        }
        if let parity = options.parity, parity < 0 || parity > count / 2 {
            throw .usage("--parity \(parity): with \(count) nodes use 0...\(count / 2)")
        }
        var taken: Set<Int> = []
        for other in ClusterHome.list(root: home.root) where other != home.name {
            if let r = try? ClusterHome(root: home.root, name: other).load() { taken.formUnion(r.nodes.map(\.port)) }
        }
        let (ports, skipped) = Ports.pick(count: count, from: options.basePort, excluding: taken)
        for (port, holder) in skipped {
            say("port \(port) is busy\(holder.map { " (\($0))" } ?? ""): skipped")
        }
        guard ports.count == count else {
            throw .usage("not enough free ports from \(options.basePort): pass --base-port")
        }

        let accessKey = options.accessKey ?? environment[NodeConfig.environmentAccessKey] ?? NodeConfig.defaultAccessKey
        let secretKey = options.secretKey ?? environment[NodeConfig.environmentSecretKey] ?? NodeConfig.defaultSecretKey
        let endpoints = ports.map { (options.tls ? "https" : "http") + "://127.0.0.1:\($0)" }
        for url in options.webhooks where HTTPEndpoint(url: url) == nil {
            throw .usage("--webhook: \"\(url)\" is not an http:// URL (for example http://127.0.0.1:9000/events)")
        }
        var record = ClusterRecord(
            name: home.name, createdAt: WallTime.now().iso8601, deploymentId: Launcher.newDeploymentID(),
            accessKey: accessKey,
            secretKey: secretKey, region: "us-east-1",
            heartbeatInterval: DurationText.format(options.heartbeat.interval),
            deadAfter: DurationText.format(options.heartbeat.deadAfter), parity: options.parity,
            nodes: ports.enumerated().map { i, port in
                .init(id: NodeID.forIndex(i).rawValue, port: port, endpoint: endpoints[i], process: nil)
            })

        let templates = try Templates.locate(environment: environment, executable: executable)
        let templatePath = templates + "/" + Templates.nodeConfig
        guard let template = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
            throw .shipped("cannot read \(templatePath)")
        }
        if options.tls { try makeCertificates(for: record) }
        for node in record.nodes {
            let values: [String: JSONValue] = [
                "accessKey": .string(accessKey), "secretKey": .string(secretKey), "region": .string(record.region),
                "nodeId": .string(node.id), "listen": .string("127.0.0.1:\(node.port)"),
                "nodes": .array(endpoints.map { .string($0) }),
                "parity": options.parity.map { .int(Int64($0)) } ?? .string("auto"),
                "heartbeatInterval": .string(record.heartbeatInterval), "deadAfter": .string(record.deadAfter),
                "deploymentId": .string(record.deploymentId),
                "webhooks": .object(
                    options.webhooks.enumerated().map { i, url in
                        ("\(i + 1)", .object([("enable", .bool(true)), ("endpoint", .string(url))]))
                    }),
            ]
            let text = try Templates.render(template, values: values, source: templatePath)
            let directory = home.nodeDirectory(node.id)
            do {
                // Checked exactly as the node will read it, before anything starts.
                _ = try NodeConfig.parse(text, source: templatePath, baseDirectory: directory, environment: [:])
            } catch {
                // A value from a flag is the user's to fix; anything else is the template's fault.
                if let flag = Launcher.flagsForKeys[error.key] {
                    throw .usage("\(flag): \(error.problem)" + (error.fix.isEmpty ? "" : ": \(error.fix)"))
                }
                throw .shipped("\(templatePath) renders an invalid config for \(node.id): \(error.description)")
            }
            do {
                try FileManager.default.createDirectory(
                    atPath: home.dataPath(node.id), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: URL(fileURLWithPath: home.configPath(node.id)), options: .atomic)
            } catch {
                throw .io(path: directory, reason: "\(error)")
            }
        }
        try home.save(record)
        try spawn(record.nodes.map(\.id), in: &record, newCluster: true)
        try home.save(record)
        note("up", "all", "\(count) nodes on ports \(ports.first!)-\(ports.last!)")
        return record
    }

    /// The cluster's private CA and a certificate for each node (for `localhost` and `127.0.0.1`, where
    /// the nodes listen), in the layout the node reads (`<node>/certs`).
    private func makeCertificates(for record: ClusterRecord) throws(LauncherError) {
        do {
            try FileManager.default.createDirectory(atPath: home.path, withIntermediateDirectories: true)
            for node in record.nodes {
                try FileManager.default.createDirectory(
                    atPath: home.nodeDirectory(node.id), withIntermediateDirectories: true)
            }
        } catch {
            throw .io(path: home.path, reason: "\(error)")
        }
        do {
            let authority = try CertificateAuthority(
                folder: home.authorityPath, name: "devcluster CA for cluster '\(record.name)'")
            for node in record.nodes {
                try authority.issue(
                    for: ["localhost", "127.0.0.1"], into: CertificateFolder(home.certificatesPath(node.id)))
            }
        } catch {
            throw .io(path: home.authorityPath, reason: error.reason)
        }
    }

    /// The `up` flag behind each config key it renders.
    static let flagsForKeys: [String: String] = [
        "credential.accessKey": "--access-key", "credential.secretKey": "--secret-key", "cluster.parity": "--parity",
        "cluster.heartbeat": "--heartbeat-interval/--dead-after",
    ]

    static func newDeploymentID() -> String {
        let hex = Crypto.randomBytes(16).hexString
        let parts = [
            hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4),
            hex.dropFirst(20),
        ]
        return parts.joined(separator: "-")
    }

    /// Starts the given nodes' processes (their ports must be free) and records them. `newCluster`:
    /// the nodes are being created, so their empty data folders are new, not lost.
    public func spawn(_ ids: [String], in record: inout ClusterRecord, newCluster: Bool = false) throws(LauncherError) {
        var childEnvironment = environment
        // The rendered config is the single source of the credentials.
        for key in [NodeConfig.environmentAccessKey, NodeConfig.environmentSecretKey] { childEnvironment[key] = nil }
        for id in ids {
            guard let node = record.node(id) else { continue }
            guard TCPListener.isFree(node.port) else {
                let holder = Ports.holder(of: node.port).map { " (\($0))" } ?? ""
                throw .startFailed(
                    node: id,
                    reason:
                        "its port \(node.port) is busy\(holder): stop that process, or start over on other ports with 'devcluster up --fresh'",
                    logTail: [])
            }
            let process: ProcessRecord
            let spawnedAt = WallTime.now()
            do {
                process = try ProcessControl.spawnDetached(
                    executable: devnodePath,
                    arguments: ["--config", home.configPath(id), "--faults", home.faultsPath]
                        + (newCluster ? ["--new-cluster"] : []),
                    environment: childEnvironment,
                    logPath: home.logPath(id), workingDirectory: home.nodeDirectory(id))
            } catch {
                throw .startFailed(node: id, reason: error.description, logTail: [])
            }
            record.setProcess(id, process)
            // Saved at once: if a later node fails to start, this one is still on record (and stoppable).
            try home.save(record)
            note("start", id, "pid \(process.pid)", pid: process.pid, at: spawnedAt)
        }
    }

    // MARK: Waiting

    /// Waits until every node runs and sees every other online. Fails at once, with its log, if a node
    /// exits meanwhile.
    public func waitUntilReady(_ record: ClusterRecord, timeout: Duration) throws(LauncherError) {
        let deadline = Instant.now() + timeout
        var last = snapshot(record, probeTimeout: .milliseconds(500))
        var interval = Launcher.firstPollInterval
        while true {
            for node in record.nodes where processState(record, node.id) == .stopped {
                throw .startFailed(node: node.id, reason: "the process exited", logTail: logTail(node.id, lines: 15))
            }
            if last.verdict == .healthy { return }
            guard Instant.now() < deadline else {
                let unmet = last.nodes.flatMap { n -> [String] in
                    guard let s = n.status else { return ["\(n.id) does not answer (\(n.probeError ?? "?"))"] }
                    return s.peers.filter { $0.state != .online }.map { "\(n.id) sees \($0.id) \($0.state.rawValue)" }
                }
                throw .notReady(
                    "the cluster was not ready within \(DurationText.format(timeout)): " + unmet.joined(separator: "; ")
                )
            }
            usleep(UInt32(interval.milliseconds * 1000))
            interval = min(interval * 2, Launcher.pollInterval)
            last = snapshot(record, probeTimeout: .milliseconds(500))
        }
    }

    /// Polls until `condition` holds for a snapshot or the time is up; returns the last snapshot and
    /// whether it held.
    public func wait(
        for record: ClusterRecord, timeout: Duration, until condition: (ClusterSnapshot) -> Bool
    ) -> (ClusterSnapshot, Bool) {
        let deadline = Instant.now() + timeout
        while true {
            let s = snapshot(record, probeTimeout: Launcher.probeTimeout)
            if condition(s) { return (s, true) }
            if Instant.now() >= deadline { return (s, false) }
            usleep(100_000)
        }
    }

    // MARK: Observing

    /// Every node's process state and, for running ones, its own status.
    public func snapshot(_ record: ClusterRecord, probeTimeout: Duration = Launcher.probeTimeout) -> ClusterSnapshot {
        let states = Dictionary(uniqueKeysWithValues: record.nodes.map { ($0.id, processState(record, $0.id)) })
        let running = record.nodes.filter { states[$0.id]?.mayAnswer ?? false }
        let results = Probe.statuses(
            running.map { .init(id: $0.id, endpoint: $0.endpoint) }, key: key(record), timeout: probeTimeout, tls: tls)
        return ClusterSnapshot(
            nodes: record.nodes.map { n in
                let result = results[n.id]
                var status: NodeStatus?
                var error: String?
                switch result {
                case .success(let s): status = s
                case .failure(let e): error = e.description
                case nil: error = states[n.id] == .paused ? "paused" : "not running"
                }
                return .init(
                    id: n.id, port: n.port, endpoint: n.endpoint, pid: n.process?.pid,
                    process: states[n.id] ?? .stopped, status: status, probeError: error)
            })
    }

    /// The last `lines` lines of a node's log.
    public func logTail(_ id: String, lines: Int) -> [String] {
        guard let text = ProcessControl.readSmallFile(home.logPath(id)) else { return [] }
        return Array(text.split(separator: "\n").suffix(lines).map(String.init))
    }

    // MARK: Signals

    public enum StopOutcome: Sendable, Equatable {
        case alreadyStopped
        case graceful(Duration)
        case killed(after: Duration)
        case refused(String)
    }

    /// Sends `signum` to each running node and waits for all to exit (SIGKILL after `timeout`).
    public func stop(
        _ ids: [String], in record: inout ClusterRecord, signal signum: Int32, timeout: Duration
    ) -> [String: StopOutcome] {
        var outcomes: [String: StopOutcome] = [:]
        var waiting: [(String, ProcessRecord)] = []
        let start = Instant.now()
        for id in ids {
            guard let process = record.node(id)?.process, processState(record, id) != .stopped else {
                outcomes[id] = .alreadyStopped
                record.setProcess(id, nil)
                continue
            }
            if processState(record, id) == .paused && signum == SIGTERM {
                // A stopped process cannot handle SIGTERM until it runs again.
                ProcessControl.signal(process, SIGCONT, marker: marker(id))
            }
            // Noted before the signal, so the timeline shows the cause before its effects.
            note(
                signum == SIGKILL ? "kill" : "stop", id, signum == SIGKILL ? "SIGKILL by user" : "SIGTERM by user",
                pid: process.pid)
            guard ProcessControl.signal(process, signum, marker: marker(id)) else {
                outcomes[id] = .refused("pid \(process.pid) is no longer \(id): not signalled")
                record.setProcess(id, nil)
                continue
            }
            waiting.append((id, process))
        }
        for (id, process) in waiting {
            let remaining = timeout - Instant.now().since(start)
            if ProcessControl.waitForExit(process, marker: marker(id), timeout: max(.zero, remaining)) {
                outcomes[id] =
                    signum == SIGKILL
                    ? .killed(after: Instant.now().since(start)) : .graceful(Instant.now().since(start))
            } else {
                ProcessControl.signal(process, SIGKILL, marker: marker(id))
                _ = ProcessControl.waitForExit(process, marker: marker(id), timeout: .seconds(5))
                note("kill", id, "did not stop within \(DurationText.format(timeout)): SIGKILL", pid: process.pid)
                outcomes[id] = .killed(after: Instant.now().since(start))
            }
            record.setProcess(id, nil)
        }
        return outcomes
    }

    /// Stops every node (SIGTERM, SIGKILL after `stopTimeout`) and, with `purge`, deletes the cluster
    /// home and its data. Answers how each node stopped, in the record's order, and whether its log
    /// ended with a clean stop (read before a purge deletes it).
    public func down(purge: Bool) throws(LauncherError) -> [(id: String, outcome: StopOutcome?, cleanly: Bool)] {
        try home.withLock { () throws(LauncherError) in
            var record = try home.load()
            let outcomes = stop(record.nodes.map(\.id), in: &record, signal: SIGTERM, timeout: Launcher.stopTimeout)
            try home.save(record)
            note("down", "all", purge ? "stopped; data deleted" : "stopped; data kept")
            let stopped = record.nodes.map { ($0.id, outcomes[$0.id], stoppedCleanly($0.id)) }
            if purge { try home.delete() }
            return stopped
        }
    }

    func stopAll(_ record: ClusterRecord, signal signum: Int32, timeout: Duration) {
        var copy = record
        _ = stop(record.nodes.map(\.id), in: &copy, signal: signum, timeout: timeout)
    }

    /// SIGSTOP / SIGCONT. Returns the nodes that were not in a state to receive it.
    public func pause(_ ids: [String], in record: ClusterRecord, resume: Bool) -> [String: String] {
        var problems: [String: String] = [:]
        for id in ids {
            let state = processState(record, id)
            guard let process = record.node(id)?.process, state != .stopped else {
                problems[id] = "not running"
                continue
            }
            if resume && state != .paused {
                problems[id] = "not paused"
                continue
            }
            if !resume && state == .paused {
                problems[id] = "already paused"
                continue
            }
            note(resume ? "resume" : "pause", id, resume ? "SIGCONT by user" : "SIGSTOP by user", pid: process.pid)
            ProcessControl.signal(process, resume ? SIGCONT : SIGSTOP, marker: marker(id))
        }
        return problems
    }

    /// Whether the node's log ends with a clean stop (its last words are "stopped").
    public func stoppedCleanly(_ id: String) -> Bool {
        logTail(id, lines: 3).contains { $0.contains("\"msg\":\"stopped\"") }
    }
}

/// The launcher's TLS client context, made once when first asked for.
final class LauncherTrust {
    private let authorities: [String]
    private let say: (String) -> Void
    private var made: TLSContext??

    init(authorities: [String], say: @escaping (String) -> Void) {
        self.authorities = authorities
        self.say = say
    }

    var context: TLSContext? {
        if let made { return made }
        let existing = authorities.filter { FileManager.default.fileExists(atPath: $0) }
        do {
            made = .some(try TLSContext.client(trusting: existing))
        } catch {
            say("warning: HTTPS nodes cannot be reached: \(error.reason)")
            made = .some(nil)
        }
        return made!
    }
}
