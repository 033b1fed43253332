import Core
import FoundationEssentials

/// The scenarios devcluster ships (`scenarios/` of the source, `share/devcluster/scenarios` installed),
/// by name, and any other scenario file by its path.
public enum ScenarioLibrary {
    public static let environmentVariable = "DEVCLUSTER_SCENARIOS"
    static let fileExtension = ".scenario"
    /// A file every copy of the folder holds (how it is recognised).
    static let marker = "rebuild.scenario"
    /// The largest scenario file read.
    static let fileBytesMax = 1 << 20

    /// The shipped scenarios' folder, or nil where none is found.
    public static func folder(environment: [String: String], executable: String) throws(LauncherError) -> String? {
        try Templates.sharedFolder(
            "scenarios", holding: marker, variable: environmentVariable, environment: environment,
            executable: executable)
    }

    /// The shipped scenarios' names, sorted.
    public static func names(environment: [String: String], executable: String) throws(LauncherError) -> [String] {
        guard let folder = try folder(environment: environment, executable: executable) else { return [] }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(fileExtension) }.map { String($0.dropLast(fileExtension.count)) }.sorted()
    }

    /// A shipped scenario by name (`rebuild`), or a scenario file by path (`./mine.scenario`).
    public static func load(
        _ nameOrPath: String, environment: [String: String], executable: String
    ) throws(LauncherError) -> Scenario {
        guard nameOrPath.contains("/") || nameOrPath.hasSuffix(fileExtension) else {
            return try loadShipped(nameOrPath, environment: environment, executable: executable)
        }
        return try read(nameOrPath)
    }

    /// A shipped scenario, by name only (what the console offers: never a path).
    public static func loadShipped(
        _ name: String, environment: [String: String], executable: String
    ) throws(LauncherError) -> Scenario {
        let known = try names(environment: environment, executable: executable)
        guard known.contains(name), let folder = try folder(environment: environment, executable: executable) else {
            throw .usage(
                known.isEmpty
                    ? "no scenario '\(name)': the scenarios folder is not found (set \(environmentVariable))"
                    : "no scenario '\(name)': there are \(known.joined(separator: ", "))")
        }
        return try read(folder + "/" + name + fileExtension)
    }

    private static func read(_ path: String) throws(LauncherError) -> Scenario {
        // Read a little past the limit, so a larger file (or an endless one) is refused, not swallowed.
        guard let text = ProcessControl.readSmallFile(path, bytesMax: fileBytesMax + 1) else {
            throw .usage("cannot read \(path)")
        }
        guard text.utf8.count <= fileBytesMax else {
            throw .usage("\(path) is larger than a scenario (\(ByteSize.format(Int64(fileBytesMax))))")
        }
        let name = String(parentlessName(path).dropLast(path.hasSuffix(fileExtension) ? fileExtension.count : 0))
        do {
            return try Scenario.parse(text, name: name)
        } catch {
            throw .usage(error.description)
        }
    }

    private static func parentlessName(_ path: String) -> Substring {
        path.split(separator: "/").last ?? Substring(path)
    }
}
