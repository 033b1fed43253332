import Cluster
import Core
import HTTP
import Storage
import TLS

/// One node's configuration, in the shape MinIO users know (DESIGN.md section 10) plus the cluster
/// section. Read from a JSON file (`devnode --config FILE`) or built from a MinIO-style command line.
public struct NodeConfig: Equatable, Sendable {
    public static let currentVersion = "1"
    /// MinIO's defaults, so MinIO tutorials work unchanged.
    public static let defaultAccessKey = "minioadmin"
    public static let defaultSecretKey = "minioadmin"
    public static let environmentAccessKey = "MINIO_ROOT_USER"
    public static let environmentSecretKey = "MINIO_ROOT_PASSWORD"

    public struct Credential: Equatable, Sendable {
        public var accessKey: String
        public var secretKey: String

        public init(accessKey: String = NodeConfig.defaultAccessKey, secretKey: String = NodeConfig.defaultSecretKey) {
            self.accessKey = accessKey
            self.secretKey = secretKey
        }
    }

    public struct LogTarget: Equatable, Sendable {
        public var enable: Bool
        public var level: Logger.Level
        /// For the file target: relative to the config file's folder.
        public var filename: String?
    }

    public struct Webhook: Equatable, Sendable {
        public var id: String
        public var enable: Bool
        public var endpoint: String
    }

    public struct Cluster: Equatable, Sendable {
        public var nodeID: NodeID
        /// `host:port` to listen on (`:8080` for every interface).
        public var listen: String
        /// Every member's URL, in order: `nodes[i]` is `node<i+1>`.
        public var nodes: [String]
        /// Parity shards; nil means the default for the set size.
        public var parity: Int?
        public var heartbeat: HeartbeatTiming
        /// Relative to the config file's folder.
        public var dataDir: String
        public var faults: Bool
        public var deploymentID: String?
        /// The background pass over every shard (`cluster.scanner`: bytesPerSecond, objectsPerSecond,
        /// interval).
        public var scanner = Scanner.Limits()
        /// Reads route around nodes much slower than the rest (`cluster.slowNodeAvoidance`, on).
        public var slowNodeAvoidance = true
        /// Memory for recently used objects' metadata, small objects' data with it
        /// (`cluster.metadataCacheBytes`; 0 turns the cache off).
        public var metadataCacheBytes = Int64(Disk.metadataCacheBytesDefault)
        /// How far a signed internal request's time may be from this node's clock
        /// (`cluster.internodeClockSkewMax`): the clocks of every node must agree within it.
        public var internodeClockSkewMax = ClusterKey.clockSkewMaxDefault
    }

    public var version = NodeConfig.currentVersion
    public var credential = Credential()
    public var region = "us-east-1"
    public var browser = true
    public var console = LogTarget(enable: true, level: .info, filename: nil)
    public var file = LogTarget(enable: false, level: .info, filename: "node.log")
    public var webhooks: [Webhook] = []
    /// The node's certificates in MinIO's layout (`public.crt`, `private.key`, `CAs/`), relative to the
    /// config file's folder; used when the members' URLs are https://.
    public var certsDir = "certs"
    public var cluster: Cluster
    /// Where relative paths are resolved from (the config file's folder, or the working directory).
    public var baseDirectory: String

    public init(cluster: Cluster, baseDirectory: String) {
        self.cluster = cluster
        self.baseDirectory = baseDirectory
    }

    // MARK: Derived

    public var members: [PeerAddress] {
        cluster.nodes.enumerated().map { PeerAddress(id: .forIndex($0.offset), url: $0.element) }
    }

    public var ownURL: String? {
        members.first { $0.id == cluster.nodeID }?.url
    }

    public var dataDirectory: String { resolve(cluster.dataDir) }

    /// Whether the nodes speak TLS to clients and to each other: their URLs are https://.
    public var isSecure: Bool { cluster.nodes.first.flatMap { HTTPEndpoint(url: $0) }?.isSecure ?? false }

    /// Where this node's certificates are, when it speaks TLS.
    public var certificates: CertificateFolder? { isSecure ? CertificateFolder(resolve(certsDir)) : nil }
    public var logFile: String? { file.enable ? file.filename.map(resolve) : nil }

    public func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory.hasSuffix("/") ? baseDirectory + path : baseDirectory + "/" + path)
    }

    /// The listen address split into host (empty for every interface) and port.
    public static func splitHostPort(_ text: String) -> (host: String, port: Int)? {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    public var listenHostPort: (host: String, port: Int) {
        NodeConfig.splitHostPort(cluster.listen) ?? ("127.0.0.1", 0)
    }

    // MARK: Validation

    /// Checks everything that can be checked without touching the network or disk.
    public func validate(source: String) throws(ConfigError) {
        func fail(_ key: String, _ problem: String, _ fix: String) -> ConfigError {
            ConfigError(source: source, key: key, problem: problem, fix: fix)
        }
        guard version == NodeConfig.currentVersion else {
            throw fail(
                "version", "unsupported version \"\(version)\"",
                "this devnode reads version \"\(NodeConfig.currentVersion)\"")
        }
        guard credential.accessKey.count >= 3 else {
            throw fail(
                "credential.accessKey", "too short",
                "use at least 3 characters (or set \(NodeConfig.environmentAccessKey))")
        }
        guard credential.secretKey.count >= 8 else {
            throw fail(
                "credential.secretKey", "too short",
                "use at least 8 characters (or set \(NodeConfig.environmentSecretKey))")
        }
        guard !region.isEmpty, region.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw fail("region", "\"\(region)\" is not a region name", "use letters, digits and dashes, e.g. us-east-1")
        }
        guard (1...16).contains(cluster.nodes.count) else {
            throw fail(
                "cluster.nodes", "\(cluster.nodes.count) nodes",
                "an erasure set has 1 to 16 nodes (larger deployments are not supported yet)")
        }
        var seen: Set<HTTPEndpoint> = []
        for (i, url) in cluster.nodes.enumerated() {
            guard let endpoint = HTTPEndpoint(url: url) else {
                throw fail(
                    "cluster.nodes[\(i)]", "\"\(url)\" is not an http://host:port or https://host:port URL",
                    "write it like http://127.0.0.1:8080")
            }
            guard seen.insert(endpoint).inserted else {
                throw fail("cluster.nodes[\(i)]", "\(endpoint) is listed twice", "each node needs its own host:port")
            }
            guard endpoint.isSecure == isSecure else {
                throw fail(
                    "cluster.nodes[\(i)]", "\"\(url)\" mixes http:// and https:// with the other nodes",
                    "every node speaks TLS (https://) or none does")
            }
        }
        guard let index = cluster.nodes.indices.first(where: { NodeID.forIndex($0) == cluster.nodeID }) else {
            throw fail(
                "cluster.nodeId", "\"\(cluster.nodeID)\" is not one of node1...node\(cluster.nodes.count)",
                "node ids follow the order of cluster.nodes")
        }
        guard let listen = NodeConfig.splitHostPort(cluster.listen), listen.port > 0 else {
            throw fail(
                "cluster.listen", "\"\(cluster.listen)\" is not host:port", "write it like 127.0.0.1:8080 or :8080")
        }
        if let own = HTTPEndpoint(url: cluster.nodes[index]), own.port != listen.port {
            throw fail(
                "cluster.listen", "port \(listen.port) differs from this node's entry in cluster.nodes (\(own))",
                "peers reach \(cluster.nodeID) at \(own): listen on port \(own.port)")
        }
        if let parity = cluster.parity, parity < 0 || parity > cluster.nodes.count / 2 {
            throw fail(
                "cluster.parity", "\(parity) parity shards for \(cluster.nodes.count) nodes",
                "use 0...\(cluster.nodes.count / 2) (at most half the nodes), or null for the default")
        }
        do {
            try cluster.heartbeat.validate()
        } catch {
            throw fail("cluster.heartbeat", error.description, "")
        }
        guard !cluster.dataDir.isEmpty else {
            throw fail("cluster.dataDir", "empty", "name a folder for this node's data")
        }
        for webhook in webhooks where webhook.enable {
            guard HTTPEndpoint(url: webhook.endpoint) != nil else {
                throw fail("notify.webhook.\(webhook.id).endpoint", "\"\(webhook.endpoint)\" is not an http:// URL", "")
            }
        }
    }

    // MARK: Reading

    /// Reads and validates a config file; `MINIO_ROOT_USER` / `MINIO_ROOT_PASSWORD` override the credential.
    public static func parse(
        _ text: String, source: String, baseDirectory: String, environment: [String: String]
    ) throws(ConfigError)
        -> NodeConfig
    {
        let json: JSONValue
        do {
            json = try JSONValue.parse(text)
        } catch {
            throw ConfigError(source: source, key: "", problem: "not valid JSON (\(error.description))", fix: "")
        }
        var root = try ConfigReader(source: source, path: "", value: json)
        guard var c = try root.object("cluster") else {
            throw ConfigError(
                source: source, key: "cluster", problem: "missing",
                fix: "add the cluster section (nodeId, listen, nodes)")
        }
        guard let nodeID = try c.string("nodeId") else {
            throw c.error("nodeId", "missing", "name this node, e.g. \"node1\"")
        }
        guard let listen = try c.string("listen") else { throw c.error("listen", "missing", "e.g. \"127.0.0.1:8080\"") }
        guard let nodes = try c.stringArray("nodes") else {
            throw c.error("nodes", "missing", "list every member's URL, e.g. [\"http://127.0.0.1:8080\", ...]")
        }
        var timing = HeartbeatTiming()
        if var hb = try c.object("heartbeat") {
            if let v = try hb.duration("interval") { timing.interval = v }
            if let v = try hb.duration("deadAfter") { timing.deadAfter = v }
            try hb.finish()
        }
        var parity: Int?
        if let v = c.value("parity"), v.stringValue != "auto" {
            guard let p = v.intValue else { throw c.error("parity", "expected a number or \"auto\", found \(v.text)") }
            parity = Int(p)
        }
        var cluster = Cluster(
            nodeID: NodeID(nodeID), listen: listen, nodes: nodes, parity: parity, heartbeat: timing,
            dataDir: try c.string("dataDir") ?? "data", faults: try c.onOff("faults") ?? false,
            deploymentID: try c.string("deploymentId"))
        if var sc = try c.object("scanner") {
            if let v = try sc.count("bytesPerSecond", minimum: 1 << 16) { cluster.scanner.bytesPerSecond = v }
            if let v = try sc.count("objectsPerSecond") { cluster.scanner.objectsPerSecond = v }
            if let v = try sc.duration("interval") { cluster.scanner.interval = v }
            try sc.finish()
        }
        if let v = try c.onOff("slowNodeAvoidance") { cluster.slowNodeAvoidance = v }
        if let v = try c.count("metadataCacheBytes", minimum: 0) { cluster.metadataCacheBytes = v }
        if let v = try c.duration("internodeClockSkewMax") {
            guard v >= .seconds(1) else {
                throw c.error("internodeClockSkewMax", "at least 1s: every signed request would be refused")
            }
            cluster.internodeClockSkewMax = v
        }
        try c.finish()

        var config = NodeConfig(cluster: cluster, baseDirectory: baseDirectory)
        if let v = try root.string("version") { config.version = v }
        if var cred = try root.object("credential") {
            if let v = try cred.string("accessKey") { config.credential.accessKey = v }
            if let v = try cred.string("secretKey") { config.credential.secretKey = v }
            try cred.finish()
        }
        if let v = try root.string("region") { config.region = v }
        if let v = try root.onOff("browser") { config.browser = v }
        if let v = try root.string("certsDir") { config.certsDir = v }
        if var logger = try root.object("logger") {
            if var console = try logger.object("console") {
                config.console = try readTarget(&console, defaults: config.console)
                try console.finish()
            }
            if var file = try logger.object("file") {
                config.file = try readTarget(&file, defaults: config.file)
                if let name = try file.string("filename") { config.file.filename = name }
                try file.finish()
            }
            try logger.finish()
        }
        if var notify = try root.object("notify") {
            if var hooks = try notify.object("webhook") {
                for id in hooks.keys {
                    guard var hook = try hooks.object(id) else { continue }
                    let webhook = Webhook(
                        id: id, enable: try hook.bool("enable") ?? false, endpoint: try hook.string("endpoint") ?? "")
                    try hook.finish()
                    config.webhooks.append(webhook)
                }
                try hooks.finish()
            }
            try notify.finish()
        }
        try root.finish()

        if let user = environment[environmentAccessKey], !user.isEmpty { config.credential.accessKey = user }
        if let password = environment[environmentSecretKey], !password.isEmpty {
            config.credential.secretKey = password
        }
        try config.validate(source: source)
        return config
    }

    private static func readTarget(_ reader: inout ConfigReader, defaults: LogTarget) throws(ConfigError) -> LogTarget {
        var target = defaults
        if let v = try reader.bool("enable") { target.enable = v }
        if let text = try reader.string("level") {
            guard let level = Logger.Level(name: text) else {
                throw reader.error("level", "unknown level \"\(text)\"", "use debug, info, warn or error")
            }
            target.level = level
        }
        return target
    }

    // MARK: Writing

    /// The config as a JSON document (what `devcluster` writes and `devnode --config` reads).
    public var json: JSONValue {
        var clusterPairs: [(String, JSONValue)] = [
            ("nodeId", .string(cluster.nodeID.rawValue)), ("listen", .string(cluster.listen)),
            ("nodes", .array(cluster.nodes.map { .string($0) })),
            ("parity", cluster.parity.map { .int(Int64($0)) } ?? .string("auto")),
            (
                "heartbeat",
                .object([
                    ("interval", .string(DurationText.format(cluster.heartbeat.interval))),
                    ("deadAfter", .string(DurationText.format(cluster.heartbeat.deadAfter))),
                ])
            ),
            ("dataDir", .string(cluster.dataDir)), ("faults", .string(cluster.faults ? "on" : "off")),
            ("slowNodeAvoidance", .string(cluster.slowNodeAvoidance ? "on" : "off")),
            ("metadataCacheBytes", .int(cluster.metadataCacheBytes)),
            ("internodeClockSkewMax", .string(DurationText.format(cluster.internodeClockSkewMax))),
            (
                "scanner",
                .object([
                    ("bytesPerSecond", .int(cluster.scanner.bytesPerSecond)),
                    ("objectsPerSecond", .int(cluster.scanner.objectsPerSecond)),
                    ("interval", .string(DurationText.format(cluster.scanner.interval))),
                ])
            ),
        ]
        if let id = cluster.deploymentID { clusterPairs.append(("deploymentId", .string(id))) }
        func target(_ t: LogTarget) -> [(String, JSONValue)] {
            [("enable", .bool(t.enable)), ("level", .string(t.level.name))]
        }
        return .object([
            ("version", .string(version)),
            (
                "credential",
                .object([("accessKey", .string(credential.accessKey)), ("secretKey", .string(credential.secretKey))])
            ),
            ("region", .string(region)),
            ("browser", .string(browser ? "on" : "off")),
            ("certsDir", .string(certsDir)),
            (
                "logger",
                .object([
                    ("console", .object(target(console))),
                    ("file", .object(target(file) + [("filename", .string(file.filename ?? "node.log"))])),
                ])
            ),
            (
                "notify",
                .object([
                    (
                        "webhook",
                        .object(
                            webhooks.map {
                                ($0.id, .object([("enable", .bool($0.enable)), ("endpoint", .string($0.endpoint))]))
                            })
                    )
                ])
            ),
            ("cluster", .object(clusterPairs)),
        ])
    }
}
