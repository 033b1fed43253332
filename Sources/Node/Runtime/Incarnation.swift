import Core
import FoundationEssentials

/// The incarnation number a node announces in heartbeats: the wall clock in milliseconds at start, but
/// always above the last one used from this data folder (stored there), so a clock that stepped back
/// can never make a restart look like a stale old message.
enum Incarnation {
    static func next(dataDirectory: String, now: WallTime = .now()) throws(NodeStartError) -> UInt64 {
        let folder = dataDirectory + "/.dc"
        let path = folder + "/incarnation"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .dataDirectory(path: dataDirectory, reason: "cannot create \(folder): \(error)")
        }
        let wall = UInt64(max(0, now.millisecondsSinceEpoch))
        // A stored value far in the future is damage, not history: ignore it rather than overflow on it.
        let stored = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { UInt64($0.filter(\.isNumber)) } ?? 0
        let previous = stored > wall + 86_400_000 ? 0 : stored
        let next = max(previous + 1, wall)
        do {
            try Data("\(next)\n".utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .dataDirectory(path: dataDirectory, reason: "cannot write \(path): \(error)")
        }
        return next
    }
}

/// Why a node could not start, with what to do about it.
public enum NodeStartError: Error, CustomStringConvertible, Sendable {
    case config(ConfigError)
    case portBusy(address: String, detail: String)
    case listen(address: String, reason: String)
    case dataDirectory(path: String, reason: String)
    case logFile(path: String, reason: String)
    case setup(reason: String)
    /// The node's certificates cannot be used.
    case tls(folder: String, reason: String)

    public var description: String {
        switch self {
        case .config(let e): e.description
        case .portBusy(let address, let detail):
            "cannot listen on \(address): the port is in use\(detail.isEmpty ? "" : " (\(detail))"): stop that process or pick another port"
        case .listen(let address, let reason): "cannot listen on \(address): \(reason)"
        case .dataDirectory(let path, let reason): "data folder \(path): \(reason)"
        case .logFile(let path, let reason): "log file \(path): \(reason)"
        case .setup(let reason): reason
        case .tls(let folder, let reason):
            "TLS: \(reason) (the nodes' URLs are https://: put public.crt and private.key in \(folder), or make them with 'devcluster certs')"
        }
    }

    /// Process exit codes, documented in the README.
    public var exitCode: Int32 {
        switch self {
        case .config: 2
        case .portBusy: 3
        case .listen, .dataDirectory, .logFile, .setup, .tls: 1
        }
    }
}
