/// A problem in a node's configuration, naming the key and what to do about it.
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file, or the flag/argument the value came from.
    public var source: String
    /// The key path, e.g. `cluster.heartbeat.deadAfter`.
    public var key: String
    public var problem: String
    public var fix: String

    public init(source: String, key: String, problem: String, fix: String) {
        self.source = source
        self.key = key
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        let location = key.isEmpty ? source : "\(source): \(key)"
        return fix.isEmpty ? "\(location): \(problem)" : "\(location): \(problem): \(fix)"
    }

    /// The same problem told in terms of the flag that set the key (`flags` maps keys to flag names).
    public func namingFlag(_ flags: [String: String]) -> ConfigError {
        guard let flag = flags[key] else { return self }
        return ConfigError(source: source, key: flag, problem: problem, fix: fix)
    }
}
