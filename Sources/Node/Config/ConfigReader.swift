import Core

/// Walks a JSON config object with the key path in hand, so every error names the exact key, and
/// refuses keys it does not know (with a suggestion for typos) instead of silently ignoring them.
struct ConfigReader {
    let source: String
    let path: String
    private let pairs: [(String, JSONValue)]
    private var used: Set<String> = []

    init(source: String, path: String, value: JSONValue) throws(ConfigError) {
        self.source = source
        self.path = path
        guard case .object(let pairs) = value else {
            throw ConfigError(
                source: source, key: path, problem: "expected an object, found \(value.kindName)", fix: "")
        }
        self.pairs = pairs
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ problem: String, _ fix: String = "") -> ConfigError {
        ConfigError(source: source, key: keyPath(key), problem: problem, fix: fix)
    }

    mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        guard let v = pairs.first(where: { $0.0 == key })?.1, v != .null else { return nil }
        return v
    }

    mutating func object(_ key: String) throws(ConfigError) -> ConfigReader? {
        guard let v = value(key) else { return nil }
        return try ConfigReader(source: source, path: keyPath(key), value: v)
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw error(key, "expected a string, found \(v.kindName)") }
        return s
    }

    mutating func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard let b = v.boolValue else { throw error(key, "expected true or false, found \(v.kindName)") }
        return b
    }

    /// MinIO's `"on"` / `"off"` switches (booleans accepted too).
    mutating func onOff(_ key: String) throws(ConfigError) -> Bool? {
        guard let v = value(key) else { return nil }
        if let b = v.boolValue { return b }
        switch v.stringValue?.lowercased() {
        case "on": return true
        case "off": return false
        default: throw error(key, "expected \"on\" or \"off\", found \(v.text)")
        }
    }

    /// A whole number at least `minimum`.
    mutating func count(_ key: String, minimum: Int64 = 1) throws(ConfigError) -> Int64? {
        guard let v = value(key) else { return nil }
        guard let n = v.intValue, n >= minimum else {
            throw error(key, "expected a whole number from \(minimum), found \(v.text)")
        }
        return n
    }

    mutating func duration(_ key: String) throws(ConfigError) -> Duration? {
        guard let text = try string(key) else { return nil }
        do {
            return try DurationText.parse(text)
        } catch {
            throw self.error(key, error.description)
        }
    }

    mutating func stringArray(_ key: String) throws(ConfigError) -> [String]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw error(key, "expected an array of strings, found \(v.kindName)") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard let s = item.stringValue else {
                throw error("\(key)[\(i)]", "expected a string, found \(item.kindName)")
            }
            out.append(s)
        }
        return out
    }

    /// Every key of this object, for maps keyed by user-chosen names (webhook ids).
    var keys: [String] { pairs.map(\.0) }

    /// Fails on any key that was never asked for.
    func finish() throws(ConfigError) {
        for (key, _) in pairs where !used.contains(key) {
            let suggestion = ConfigReader.closest(to: key, among: Array(used))
            throw error(
                key, "unknown key",
                suggestion.map { "did you mean '\($0)'?" }
                    ?? "remove it (known keys here: \(used.sorted().joined(separator: ", ")))")
        }
    }

    static func closest(to word: String, among candidates: [String]) -> String? {
        candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
            .filter { $0.1 <= max(2, word.count / 4) }.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
