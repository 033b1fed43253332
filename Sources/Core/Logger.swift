import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Writes JSON lines (one object per line) to a log file and/or standard output.
///
/// Thread-safe: thread-pool jobs may log. Lines are written with one `write(2)` each on an O_APPEND
/// descriptor, so lines from several writers never interleave mid-line.
public final class Logger: Sendable {
    public enum Level: Int, Comparable, Sendable, CaseIterable {
        case debug, info, warn, error

        public var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warn: "warn"
            case .error: "error"
            }
        }

        public init?(name: String) {
            guard let level = Level.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
            self = level
        }

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public struct Sink: Sendable {
        public var descriptor: Int32
        public var level: Level
        /// Whether the logger owns the descriptor and closes it on `close()`.
        public var owned: Bool

        public init(descriptor: Int32, level: Level, owned: Bool) {
            self.descriptor = descriptor
            self.level = level
            self.owned = owned
        }

        public static func standardOutput(level: Level) -> Sink {
            Sink(descriptor: 1, level: level, owned: false)
        }

        /// Opens `path` for appending (created 0644 if missing).
        public static func file(_ path: String, level: Level) throws(SystemError) -> Sink {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemError(errno: errno, operation: "open \(path)") }
            return Sink(descriptor: fd, level: level, owned: true)
        }
    }

    private let sinks: Mutex<[Sink]>
    /// The `node` field of every line.
    public let source: String

    public init(source: String, sinks: [Sink]) {
        self.source = source
        self.sinks = Mutex(sinks)
    }

    /// A logger that writes nothing (for tests and tools that do not log).
    public static func discarding(source: String = "test") -> Logger {
        Logger(source: source, sinks: [])
    }

    public func log(_ level: Level, _ message: String, _ fields: [(String, JSONValue)] = []) {
        var pairs: [(String, JSONValue)] = [
            ("time", .string(WallTime.now().iso8601)), ("level", .string(level.name)),
            ("node", .string(source)), ("msg", .string(message)),
        ]
        pairs.append(contentsOf: fields)
        write(JSONValue.object(pairs), level: level)
    }

    public func debug(_ message: String, _ fields: [(String, JSONValue)] = []) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: [(String, JSONValue)] = []) { log(.info, message, fields) }
    public func warn(_ message: String, _ fields: [(String, JSONValue)] = []) { log(.warn, message, fields) }
    public func error(_ message: String, _ fields: [(String, JSONValue)] = []) { log(.error, message, fields) }

    /// Events go to the log as their JSON form, at info level, so `devcluster events` can read a node's
    /// whole timeline from its log even after the node has died.
    public func event(_ event: Event) {
        write(event.json, level: .info)
    }

    private func write(_ value: JSONValue, level: Level) {
        var line = value.text
        line += "\n"
        sinks.withLock { sinks in
            for sink in sinks where level >= sink.level {
                line.withUTF8 { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let n = Glibc.write(sink.descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                        if n > 0 {
                            offset += n
                        } else if n < 0 && errno == EINTR {
                            continue
                        } else {
                            break  // a full disk or closed descriptor must not take the node down
                        }
                    }
                }
            }
        }
    }

    public func close() {
        sinks.withLock { sinks in
            for sink in sinks where sink.owned { Glibc.close(sink.descriptor) }
            sinks.removeAll()
        }
    }
}

/// An error from a system call, named after the call and carrying errno's text.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public var errno: Int32
    public var operation: String

    public init(errno: Int32, operation: String) {
        self.errno = errno
        self.operation = operation
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(errno)))"
    }
}
