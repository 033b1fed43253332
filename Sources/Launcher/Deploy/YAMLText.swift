import Core

/// JSON values as block-style YAML, for files people read and edit (compose files, Kubernetes
/// manifests). Strings are written double-quoted with JSON's escapes, which YAML reads the same; keys
/// are bare when they are plain words. Pure.
enum YAMLText {
    /// `value` as YAML lines; every line after the first is indented by `indent` spaces (the column
    /// the first line starts at).
    static func block(_ value: JSONValue, indent: Int) -> String {
        lines(value, indent: 0).map { String(repeating: " ", count: $0.indent) + $0.text }
            .enumerated().map { index, line in index == 0 ? line : String(repeating: " ", count: indent) + line }
            .joined(separator: "\n")
    }

    private struct Line {
        var indent: Int
        var text: String
    }

    private static func lines(_ value: JSONValue, indent: Int) -> [Line] {
        switch value {
        case .object(let pairs) where !pairs.isEmpty:
            return pairs.flatMap { key, item -> [Line] in
                let name = self.key(key) + ":"
                if let text = inline(item) { return [Line(indent: indent, text: name + " " + text)] }
                // A list under a key sits at the key's own indent, as compose files and manifests write it.
                let nested = lines(item, indent: isList(item) ? indent : indent + 2)
                return [Line(indent: indent, text: name)] + nested
            }
        case .array(let items) where !items.isEmpty:
            return items.flatMap { item -> [Line] in
                if let text = inline(item) { return [Line(indent: indent, text: "- " + text)] }
                var nested = lines(item, indent: indent + 2)
                // The item's first line goes after its dash.
                nested[0] = Line(indent: indent, text: "- " + nested[0].text)
                return nested
            }
        default:
            return [Line(indent: indent, text: inline(value) ?? "null")]
        }
    }

    private static func isList(_ value: JSONValue) -> Bool {
        if case .array(let items) = value { return !items.isEmpty }
        return false
    }

    /// A scalar, or an empty list or mapping, on one line; nil for what needs lines of its own.
    private static func inline(_ value: JSONValue) -> String? {
        switch value {
        case .object(let pairs): pairs.isEmpty ? "{}" : nil
        case .array(let items): items.isEmpty ? "[]" : nil
        default: value.text
        }
    }

    private static func key(_ name: String) -> String {
        let plain = !name.isEmpty && name.utf8.allSatisfy { DeployPlan.isLetterOrDigit($0) || "_-.".utf8.contains($0) }
        return plain ? name : JSONValue.string(name).text
    }
}
