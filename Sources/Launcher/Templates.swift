import Core
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Finds and renders the files in `Templates/`.
public enum Templates {
    public static let environmentVariable = "DEVCLUSTER_TEMPLATES"
    public static let nodeConfig = "node-config.json"

    /// The Templates folder: $DEVCLUSTER_TEMPLATES, the install layout next to the binary, or the source
    /// checkout the binary was built in.
    public static func locate(environment: [String: String], executable: String) throws(LauncherError) -> String {
        guard
            let dir = try sharedFolder(
                "Templates", holding: nodeConfig, variable: environmentVariable, environment: environment,
                executable: executable)
        else {
            throw .shipped(
                "cannot find the Templates folder near \(executable): run 'make install', or set \(environmentVariable)"
            )
        }
        return dir
    }

    /// A folder devcluster ships (`Templates`, `scenarios`): `$variable`, or the first of
    /// `share/devcluster/<name>` (installed) and `<name>` (a source checkout) found at or above the
    /// binary's folder that holds `marker`; nil if none does. A `$variable` without `marker` is an error.
    static func sharedFolder(
        _ name: String, holding marker: String, variable: String, environment: [String: String], executable: String
    ) throws(LauncherError) -> String? {
        if let dir = environment[variable] {
            guard FileManager.default.fileExists(atPath: dir + "/" + marker) else {
                throw .shipped("\(variable)=\(dir) has no \(marker)")
            }
            return dir
        }
        var dir = parentDirectory(executable)
        for _ in 0..<6 {
            for candidate in [
                dir + "/share/devcluster/" + name, dir + "/../share/devcluster/" + name, dir + "/" + name,
            ]
            where FileManager.default.fileExists(atPath: candidate + "/" + marker) {
                return candidate
            }
            dir = parentDirectory(dir)
        }
        return nil
    }

    /// Replaces every `{{name}}` with the JSON text of `values[name]` (`{{name|raw}}`: a string as it is;
    /// `{{name|yaml}}`: block YAML indented to the placeholder's column); unknown or unused names are
    /// errors.
    public static func render(
        _ text: String, values: [String: JSONValue], source: String
    ) throws(LauncherError) -> String {
        var out = ""
        var rest = Substring(text)
        var used: Set<String> = []
        while let open = rest.firstRange(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw .shipped("\(source): a '{{' without its '}}'")
            }
            let spec = String(rest[open.upperBound..<close.lowerBound]).filter { !$0.isWhitespace }
            let name = String(spec.prefix { $0 != "|" })
            guard let value = values[name] else {
                throw .shipped(
                    "\(source): unknown placeholder {{\(name)}} (known: \(values.keys.sorted().joined(separator: ", ")))"
                )
            }
            used.insert(name)
            switch spec.dropFirst(name.count) {
            case "": value.write(to: &out)
            case "|raw":
                // For files whose syntax is not JSON's (a systemd unit): the string as it is, on one line.
                guard let text = value.stringValue, !text.contains("\n") else {
                    throw .shipped("\(source): {{\(spec)}} takes a string of one line")
                }
                out += text
            case "|yaml":
                // Block YAML, its lines indented to the column the placeholder starts at; it must start
                // its line (after the indentation), where a block may.
                let lineStart = out.lastIndex(of: "\n").map { out.index(after: $0) } ?? out.startIndex
                guard out[lineStart...].allSatisfy({ $0 == " " }) else {
                    throw .shipped("\(source): {{\(spec)}} must begin its line (a YAML block goes below its key)")
                }
                out += YAMLText.block(value, indent: out.distance(from: lineStart, to: out.endIndex))
            default:
                throw .shipped("\(source): {{\(spec)}}: a placeholder is {{name}}, {{name|raw}} or {{name|yaml}}")
            }
            rest = rest[close.upperBound...]
        }
        out += rest
        let unused = Set(values.keys).subtracting(used)
        guard unused.isEmpty else {
            throw .shipped("\(source): the template does not use {{\(unused.sorted().joined(separator: "}}, {{"))}}")
        }
        return out
    }
}

/// The folder containing `path` (FoundationEssentials has no NSString path helpers).
func parentDirectory(_ path: String) -> String {
    let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
}

/// `path` with symbolic links resolved (the real location of an installed binary).
func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
}
