import Core
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// What the launcher remembers about a cluster (`cluster.json` in its home). No supervisor stays up:
/// every command reads this, acts, and writes it back.
public struct ClusterRecord: Codable, Equatable, Sendable {
    public static let currentSchemaVersion = 1

    public var schemaVersion = ClusterRecord.currentSchemaVersion
    public var name: String
    public var createdAt: String
    public var deploymentId: String
    public var accessKey: String
    public var secretKey: String
    public var region: String
    public var heartbeatInterval: String
    public var deadAfter: String
    public var parity: Int?
    public var nodes: [NodeRecord]

    public struct NodeRecord: Codable, Equatable, Sendable {
        public var id: String
        public var port: Int
        public var endpoint: String
        /// The last process started for this node; checked against /proc before any signal.
        public var process: ProcessRecord?
    }

    public func node(_ id: String) -> NodeRecord? { nodes.first { $0.id == id } }

    public mutating func setProcess(_ id: String, _ process: ProcessRecord?) {
        if let i = nodes.firstIndex(where: { $0.id == id }) { nodes[i].process = process }
    }
}

/// The folder of one cluster: `<root>/<name>/` with `cluster.json`, `events.jsonl` (the launcher's own
/// actions) and one folder per node (`config.json`, `data/`, `node.log`, `node.pid`).
public struct ClusterHome: Sendable {
    public static let rootEnvironment = "DEVCLUSTER_HOME"
    public static let defaultName = "dev"

    public let root: String
    public let name: String

    public init(root: String, name: String) {
        self.root = root
        self.name = name
    }

    /// `--home`, else $DEVCLUSTER_HOME, else ./sandbox.
    public static func resolveRoot(option: String?, environment: [String: String], workingDirectory: String) -> String {
        let chosen = option ?? environment[rootEnvironment] ?? "sandbox"
        return chosen.hasPrefix("/") ? chosen : workingDirectory + "/" + chosen
    }

    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.first != "."
            && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }

    public var path: String { root + "/" + name }
    public var recordPath: String { path + "/cluster.json" }
    public var eventsPath: String { path + "/events.jsonl" }
    var lockPath: String { path + "/.lock" }
    public func nodeDirectory(_ id: String) -> String { path + "/" + id }
    public func configPath(_ id: String) -> String { nodeDirectory(id) + "/config.json" }
    public func logPath(_ id: String) -> String { nodeDirectory(id) + "/node.log" }
    public func pidPath(_ id: String) -> String { nodeDirectory(id) + "/node.pid" }
    public func dataPath(_ id: String) -> String { nodeDirectory(id) + "/data" }
    /// A node's certificates (`up --tls`), in MinIO's layout.
    public func certificatesPath(_ id: String) -> String { nodeDirectory(id) + "/certs" }
    /// The cluster's own certificate authority (`up --tls`): `certs/ca.crt`, `certs/ca.key`.
    public var authorityPath: String { path + "/certs" }
    public var authority: (certificate: String, key: String) {
        (authorityPath + "/ca.crt", authorityPath + "/ca.key")
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: recordPath) }

    public func load() throws(LauncherError) -> ClusterRecord {
        guard let data = FileManager.default.contents(atPath: recordPath) else {
            throw .noCluster(name: name, root: root)
        }
        do {
            let record = try JSONDecoder().decode(ClusterRecord.self, from: data)
            guard record.schemaVersion == ClusterRecord.currentSchemaVersion else {
                throw LauncherError.corrupt(
                    path: recordPath,
                    reason:
                        "schema version \(record.schemaVersion); this devcluster reads \(ClusterRecord.currentSchemaVersion)"
                )
            }
            return record
        } catch let error as LauncherError {
            throw error
        } catch {
            throw .corrupt(path: recordPath, reason: "\(error)")
        }
    }

    public func save(_ record: ClusterRecord) throws(LauncherError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let data = try encoder.encode(record)
            try data.write(to: URL(fileURLWithPath: recordPath), options: .atomic)
            for node in record.nodes {
                if let process = node.process {
                    try Data("\(process.pid)\n".utf8).write(
                        to: URL(fileURLWithPath: pidPath(node.id)), options: .atomic)
                } else {
                    try? FileManager.default.removeItem(atPath: pidPath(node.id))
                }
            }
        } catch {
            throw .io(path: recordPath, reason: "\(error)")
        }
    }

    /// Runs `body` holding an exclusive lock on this home, so two commands never interleave their
    /// read-modify-write of `cluster.json`.
    public func withLock<T>(_ body: () throws(LauncherError) -> T) throws(LauncherError) -> T {
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: lockPath, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw .io(path: lockPath, reason: String(cString: strerror(errno))) }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Appends a launcher action to the timeline `devcluster events` merges with the nodes' events.
    public func record(_ event: Event) {
        var line = event.json.text
        line += "\n"
        let fd = open(eventsPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        line.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
    }

    /// The names of the clusters under `root`.
    public static func list(root: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: root + "/" + $0 + "/cluster.json") }.sorted()
    }

    /// Removes the whole home (nodes must be stopped first).
    public func delete() throws(LauncherError) {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw .io(path: path, reason: "\(error)")
        }
    }
}

/// Errors of the launcher, each saying what to do next.
public enum LauncherError: Error, CustomStringConvertible, Sendable {
    case noCluster(name: String, root: String)
    case corrupt(path: String, reason: String)
    case io(path: String, reason: String)
    case usage(String)
    case startFailed(node: String, reason: String, logTail: [String])
    case notReady(String)
    /// A file devcluster ships (Templates, scenarios) is missing or wrong.
    case shipped(String)

    /// A command line that cannot be obeyed (exit 64), rather than a failure.
    public var isUsage: Bool {
        if case .usage = self { true } else { false }
    }

    public var description: String {
        switch self {
        case .noCluster(let name, let root):
            "no cluster '\(name)' under \(root): start one with 'devcluster up 4', or pass --home/--name (or set \(ClusterHome.rootEnvironment))"
        case .corrupt(let path, let reason):
            "\(path) is unreadable (\(reason)): fix it, or start over with 'devcluster up --fresh'"
        case .io(let path, let reason): "\(path): \(reason)"
        case .usage(let text): text
        case .startFailed(let node, let reason, let tail):
            "\(node) failed to start: \(reason)"
                + (tail.isEmpty ? "" : "\nlast lines of its log:\n" + tail.map { "  " + $0 }.joined(separator: "\n"))
        case .notReady(let text): text
        case .shipped(let text): text
        }
    }
}
