import Admin
import ArgumentParser
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

@main
struct DevNode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devnode",
        abstract: "Run one devcluster storage node.",
        discussion: """
            From a config file (what devcluster writes):
              devnode --config sandbox/dev/node1/config.json

            Or standalone, the way MinIO starts, with every member on the command line ({1...4} expands):
              devnode --address 127.0.0.1:9001 --data /tmp/d1 http://127.0.0.1:{9001...9004}
              devnode --address :9000 http://node{1...4}.example:9000/srv/data      (one per host)

            One node for a test suite, data in a temporary folder deleted when it stops, on 127.0.0.1:9000 or
            the next free port:
              devnode

            MinIO's own command lines work too ('server' is optional):
              devnode server /srv/data                       # one node, on :9000 (all interfaces)
              devnode server http://node{1...4}:9000/data    # one node of four

            Credentials come from MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (default minioadmin / minioadmin).
            Exit codes: 0 stopped cleanly, 1 failed, 2 bad configuration, 3 port in use.

            TLS, as MinIO: give the nodes https:// URLs and each node a certificate folder (public.crt,
            private.key, CAs/ with the authority the others' certificates come from; 'devcluster certs' makes
            them):
              devnode --certs-dir /etc/devnode/certs --address :9000 https://node{1...4}:9000/data

            A container's health check (the image has no curl): devnode --health-check [--address :9000]
            [--certs-dir DIR] exits 0 when the node there answers /minio/health/live, 1 otherwise.
            """,
        version: Version.string)

    @Option(name: .long, help: ArgumentHelp("Run from this JSON config file.", valueName: "file"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Address to listen on (standalone); also picks this node out of the endpoints.", valueName: "host:port"))
    var address: String?

    @Option(
        name: .customLong("node-id"),
        help: ArgumentHelp("This node's id (standalone), when the address is ambiguous.", valueName: "nodeK"))
    var nodeID: String?

    @Option(
        name: .customLong("data"),
        help: ArgumentHelp("This node's data folder (standalone); default: its endpoint's path.", valueName: "dir"))
    var dataDir: String?

    @Option(name: .long, help: ArgumentHelp("Heartbeat interval (standalone).", valueName: "duration"))
    var heartbeatInterval: String = "1s"

    @Option(
        name: .long, help: ArgumentHelp("Silence after which a peer is offline (standalone).", valueName: "duration"))
    var deadAfter: String = "3s"

    @Option(
        name: .long,
        help: ArgumentHelp("Log level on standard output (standalone): debug, info, warn, error.", valueName: "level"))
    var logLevel: String = "info"

    @Flag(
        name: .customLong("new-cluster"),
        help: "The cluster is being created: an empty data folder is new, not lost (devcluster up passes it).")
    var newCluster = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The wanted injected faults (devcluster's faults.json), applied before the first heartbeat.",
            valueName: "file"))
    var faults: String?

    @Option(
        name: [.customLong("certs-dir"), .customShort("S")],
        help: ArgumentHelp(
            "The node's certificates (public.crt, private.key, CAs/), for https:// endpoints; a node of its own serves HTTPS when the folder holds a certificate.",
            valueName: "dir"))
    var certsDir: String?

    @Flag(
        name: .customLong("health-check"),
        help: "Ask the node at --address (default 127.0.0.1:9000) whether it is live, and exit 0 or 1; start nothing.")
    var healthCheck = false

    @Argument(
        help: ArgumentHelp(
            "Every member's URL, in order (standalone): http://host:port/path, ranges like {1...4} allowed; or one data folder; or nothing.",
            valueName: "endpoint"))
    var endpoints: [String] = []

    /// The first port a node started without one tries (MinIO's).
    static let defaultPort = 9000

    mutating func run() throws {
        if healthCheck {
            guard config == nil, endpoints.isEmpty, dataDir == nil else {
                throw ValidationError("--health-check asks a running node: give it --address (and --certs-dir) only")
            }
            let certificates = certsDir.map(CertificateFolder.init).flatMap { $0.hasCertificate ? $0 : nil }
            throw ExitCode(
                DevNode.isLive(address ?? "127.0.0.1:\(DevNode.defaultPort)", certificates: certificates) ? 0 : 1)
        }
        Loop.Process.ignoreBrokenPipe()
        Loop.Process.limitAllocatorRetention()
        // Before libuv starts its pool: disk calls and erasure coding share it (unless the user chose).
        setenv("UV_THREADPOOL_SIZE", String(Node.threadPoolSize), 0)
        let environment = ProcessInfo.processInfo.environment
        // A node started with no arguments keeps its data here, and deletes it however it ends.
        var scratch: String?
        defer { DevNode.removeScratch(scratch) }
        func fail(_ message: String, code: Int32) -> Never {
            DevNode.removeScratch(scratch)
            Self.fail(message, code: code)
        }
        var portsFrom = DevNode.defaultPort
        for attempt in 1...DevNode.portAttemptsMax {
            let launch: Launch
            do {
                launch = try loadConfig(environment: environment, portsFrom: portsFrom)
            } catch {
                fail(error.description, code: 2)
            }
            scratch = launch.scratch
            let nodeConfig = launch.config
            var sinks: [Logger.Sink] = []
            if nodeConfig.console.enable { sinks.append(.standardOutput(level: nodeConfig.console.level)) }
            if let path = nodeConfig.logFile {
                do {
                    sinks.append(try .file(path, level: nodeConfig.file.level))
                } catch {
                    fail(NodeStartError.logFile(path: path, reason: error.description).description, code: 1)
                }
            }
            let logger = Logger(source: nodeConfig.cluster.nodeID.rawValue, sinks: sinks)
            defer { logger.close() }
            let loop: EventLoop
            do {
                loop = try EventLoop()
            } catch {
                fail("cannot start the event loop: \(error)", code: 1)
            }
            let node: Node
            do {
                node = try Node(
                    config: nodeConfig, loop: loop, logger: logger, newCluster: newCluster, faultsFile: faults)
                try node.start()
            } catch NodeStartError.portBusy where launch.chosenPort != nil && attempt < DevNode.portAttemptsMax {
                // Another process took the port between the probe and the bind: the next free one.
                DevNode.close(loop, logger)
                DevNode.removeScratch(scratch)
                scratch = nil
                portsFrom = (launch.chosenPort ?? portsFrom) + 1
                continue
            } catch {
                logger.error(error.description)
                DevNode.close(loop, logger)
                fail(error.description, code: error.exitCode)
            }
            if var line = launch.oneNode?.announcement { line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) } }
            let code = node.run()
            DevNode.close(loop, logger)
            throw ExitCode(code)
        }
    }

    /// Closes the loop, saying which handles were still open (none should be).
    private static func close(_ loop: EventLoop, _ logger: Logger) {
        let leaked = loop.close()
        if !leaked.isEmpty {
            logger.warn("handles still open at exit", [("handles", .array(leaked.map { .string($0) }))])
        }
    }

    /// Deletes a scratch node's temporary data folder (nil: the node has a folder of its own).
    private static func removeScratch(_ path: String?) {
        if let path { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Whether the node at `address` (`:9000` means this host) answers its liveness path with 200 within
    /// `healthCheckTimeout`.
    static func isLive(_ address: String, certificates: CertificateFolder?) -> Bool {
        let scheme = certificates == nil ? "http" : "https"
        guard let (host, port) = NodeConfig.splitHostPort(address),
            let endpoint = HTTPEndpoint(
                url: "\(scheme)://\(host.isEmpty || host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"),
            let loop = try? EventLoop()
        else { return false }
        var limits = HTTPClientLimits()
        limits.connectTimeout = healthCheckTimeout
        let tls: TLSContext?
        do {
            tls = try certificates?.clientContext()
        } catch {
            fail("--certs-dir: \(error.reason)", code: 1)
        }
        let client = HTTPClient(loop: loop, limits: limits, tls: tls)
        var live = false
        client.send(
            HTTPClientRequest(method: "GET", target: AdminPaths.healthLive), to: endpoint, timeout: healthCheckTimeout
        ) {
            live = (try? $0.get().status) == 200
            client.close()
        }
        loop.run()
        loop.close()
        return live
    }

    /// A live node answers in milliseconds; a container runtime's own health-check timeout (3 s in
    /// the image `make image` builds) must be longer, so this one decides.
    static let healthCheckTimeout: Duration = .seconds(2)

    /// Free ports a node started with no address tries in turn when another process takes the one it
    /// found free before it binds it.
    static let portAttemptsMax = 16

    /// What a node starts from.
    private struct Launch {
        var config: NodeConfig
        /// Set when the node is a one-node cluster started without a config file.
        var oneNode: OneNode?

        var scratch: String? { oneNode?.scratch }
        var chosenPort: Int? { oneNode?.chosenPort }
    }

    /// A one-node cluster started from the command line (no arguments, or one data folder).
    private struct OneNode {
        /// The temporary data folder made for a node started with no data folder.
        var scratch: String?
        /// The port found free for a node started with no address (another one is tried if it is taken).
        var chosenPort: Int?
        /// The line it prints on standard error once it listens: where it serves, and how to log in.
        var announcement = ""
    }

    /// The node's config (with no arguments: on the first free port from `portsFrom`).
    private func loadConfig(environment: [String: String], portsFrom: Int) throws(ConfigError) -> Launch {
        let cwd = FileManager.default.currentDirectoryPath
        if let config {
            guard endpoints.isEmpty, address == nil, nodeID == nil, dataDir == nil else {
                throw ConfigError(
                    source: "command line", key: "--config", problem: "given with standalone arguments",
                    fix: "use either --config FILE or endpoints, not both")
            }
            let path = config.hasPrefix("/") ? config : cwd + "/" + config
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigError(source: config, key: "", problem: "cannot read the file", fix: "check the path")
            }
            let base = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            var parsed = try NodeConfig.parse(
                text, source: config, baseDirectory: base.isEmpty ? "/" : base, environment: environment)
            if let certsDir { parsed.certsDir = certsDir.hasPrefix("/") ? certsDir : cwd + "/" + certsDir }
            return Launch(config: parsed)
        }
        var options = StandaloneOptions(endpoints: Array(endpoints.drop { $0 == "server" }))
        options.address = address
        options.nodeID = nodeID
        options.dataDir = dataDir
        options.certsDir = certsDir
        let oneNode = try singleNode(&options, environment: environment, portsFrom: portsFrom)
        do {
            options.heartbeat = HeartbeatTiming(
                interval: try DurationText.parse(heartbeatInterval), deadAfter: try DurationText.parse(deadAfter))
        } catch {
            throw ConfigError(
                source: "command line", key: "--heartbeat-interval/--dead-after", problem: error.description, fix: "")
        }
        guard let level = Logger.Level(name: logLevel) else {
            throw ConfigError(
                source: "command line", key: "--log-level", problem: "unknown level \"\(logLevel)\"",
                fix: "use debug, info, warn or error")
        }
        options.logLevel = level
        do {
            return Launch(
                config: try NodeConfig.standalone(options, environment: environment, workingDirectory: cwd),
                oneNode: oneNode)
        } catch {
            DevNode.removeScratch(oneNode?.scratch)
            throw error
        }
    }

    /// No endpoint, or one data folder instead of URLs: a node of its own, on the given address or the
    /// first free port from `portsFrom` (loopback only when it has no data folder of its own: a scratch
    /// node for tests is nobody else's business), in a temporary folder when none is given. Its config
    /// is made by the caller from `options`; nil for a member of several.
    private func singleNode(
        _ options: inout StandaloneOptions, environment: [String: String], portsFrom: Int
    ) throws(ConfigError) -> OneNode? {
        guard options.endpoints.count <= 1, !(options.endpoints.first ?? "").hasPrefix("http") else { return nil }
        var launch = OneNode()
        let folder = options.endpoints.first
        if let folder, folder.contains("...") {
            throw ConfigError(
                source: "command line", key: "ENDPOINT", problem: "several drives for one node (\(folder))",
                fix: "a node has one data folder: start one devnode per folder, with every node's URL")
        }
        let host = folder == nil ? "127.0.0.1" : "0.0.0.0"
        let port: Int
        if let address = options.address {
            guard let given = NodeConfig.splitHostPort(address) else {
                throw ConfigError(
                    source: "command line", key: "--address", problem: "\"\(address)\" is not host:port",
                    fix: "write it like :9000 or 127.0.0.1:9000")
            }
            port = given.port
        } else if folder != nil {
            // A folder of its own keeps one port: the deployment it belongs to is named by its members'
            // URLs, port included (MinIO's :9000, as `minio server /data` listens).
            port = DevNode.defaultPort
            options.address = ":\(port)"
        } else {
            guard let free = (portsFrom...65535).first(where: { TCPListener.isFree($0, host: host) }) else {
                throw ConfigError(
                    source: "command line", key: "--address", problem: "no free port from \(portsFrom) up",
                    fix: "pass --address HOST:PORT")
            }
            port = free
            launch.chosenPort = free
            options.address = "127.0.0.1:\(port)"
        }
        if let folder {
            options.dataDir = options.dataDir ?? folder
        } else if options.dataDir == nil {
            guard let made = TemporaryFolder.make(prefix: "devnode", environment: environment) else {
                throw ConfigError(
                    source: "command line", key: "--data", problem: "cannot make a temporary data folder",
                    fix: "pass --data DIR")
            }
            options.dataDir = made
            launch.scratch = made
        }
        let scheme = options.certsDir.map(CertificateFolder.init)?.hasCertificate == true ? "https" : "http"
        options.endpoints = ["\(scheme)://127.0.0.1:\(port)"]
        let given = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? "minioadmin" }
        let credentials = "\(given(NodeConfig.environmentAccessKey)) / \(given(NodeConfig.environmentSecretKey))"
        launch.announcement =
            "devnode: one node, S3 on \(scheme)://127.0.0.1:\(port), data in \(options.dataDir!)"
            + (launch.scratch == nil ? "" : " (deleted when it stops)") + ", credentials \(credentials)\n"
        return launch
    }

    private static func fail(_ message: String, code: Int32) -> Never {
        var text = "devnode: \(message)\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        Glibc.exit(code)
    }
}
