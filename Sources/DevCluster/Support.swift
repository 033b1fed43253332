import ArgumentParser
import Core
import FoundationEssentials
import Launcher
import Node

#if canImport(Glibc)
import Glibc
#endif

/// Options every command that works on one cluster takes.
struct ClusterOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("The cluster (default: 'dev', or the only one there is).", valueName: "name"))
    var name: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The folder of cluster homes (default: $DEVCLUSTER_HOME, else ./sandbox).", valueName: "dir")
    )
    var home: String?

    @Flag(name: .long, help: "Print errors only: the exit code tells the rest.")
    var quiet = false

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    func validate() throws {
        if quiet { Output.quiet = true }
    }

    var root: String {
        ClusterHome.resolveRoot(
            option: home, environment: environment, workingDirectory: FileManager.default.currentDirectoryPath)
    }

    func clusterHome() throws -> ClusterHome {
        let chosen: String
        if let name {
            chosen = name
        } else {
            let existing = ClusterHome.list(root: root)
            chosen =
                existing.contains(ClusterHome.defaultName) || existing.count != 1
                ? ClusterHome.defaultName : existing[0]
        }
        guard ClusterHome.validName(chosen) else {
            throw fail("'\(chosen)' is not a cluster name: use letters, digits, '-' and '_'")
        }
        return ClusterHome(root: root, name: chosen)
    }

    /// `progressToStandardError`: the launcher's progress lines go to standard error (the command's own
    /// output is a document, `--json`).
    func launcher(progressToStandardError: Bool = false) throws -> Launcher {
        Launcher(
            home: try clusterHome(), environment: environment,
            executable: ownExecutable,
            say: progressToStandardError ? { if !Output.quiet { sayToStandardError($0) } } : { say($0) })
    }
}

/// A deployment devcluster did not start, named by its members' URLs instead of a cluster home (for
/// the commands that only ask the nodes).
struct DeploymentOptions: ParsableArguments {
    @Option(
        name: .long, parsing: .upToNextOption,
        help: ArgumentHelp(
            "A deployment devcluster did not start (devnodes started by hand, on one host or several): every member's URL as each node was given them, ranges like {1...4} allowed; credentials from MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (default minioadmin).",
            valueName: "url"))
    var endpoints: [String] = []

    /// The launcher and record of the cluster to ask: the deployment, or the cluster home's.
    func resolve(_ cluster: ClusterOptions) throws -> (Launcher, ClusterRecord) {
        guard !endpoints.isEmpty else {
            let launcher = try cluster.launcher()
            return (launcher, try launching { () throws(LauncherError) in try launcher.home.load() })
        }
        let environment = cluster.environment
        let given = { (name: String) in environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? "minioadmin" }
        return try launching { () throws(LauncherError) in
            try Launcher.remote(
                endpoints: endpoints, accessKey: given(NodeConfig.environmentAccessKey),
                secretKey: given(NodeConfig.environmentSecretKey), environment: environment, say: { say($0) })
        }
    }
}

/// This program's path, as the launcher needs it to find the Templates and start nodes.
var ownExecutable: String { CommandLine.arguments[0].contains("/") ? CommandLine.arguments[0] : "/proc/self/exe" }

/// What this invocation prints, set from its command line before the command runs.
enum Output {
    /// `--quiet`: nothing on standard output; errors still go to standard error. Written once, on the
    /// main thread while the command line is validated, before `run`; only read after that.
    nonisolated(unsafe) static var quiet = false
}

/// Prints to standard output and flushes (follow modes and pipes need every line at once); nothing
/// under `--quiet`.
func say(_ text: String, terminator: String = "\n") {
    guard !Output.quiet else { return }
    print(text, terminator: terminator)
    fflush(nil)
}

/// A line to standard error (unbuffered).
func sayToStandardError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// The exit code of a command line that cannot be obeyed (a bad selector, duration or condition): 64,
/// as ArgumentParser's own, so a script can tell it from a timeout (1).
let usageExitCode = ExitCode.validationFailure.rawValue

/// Prints `devcluster: message` to standard error and returns the exit to throw.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    sayToStandardError("devcluster: \(message)")
    return ExitCode(code)
}

/// Runs launcher work, turning its errors into a message and exit code 1 (64 for usage errors).
func launching<T>(_ body: () throws(LauncherError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        if case .usage = error { throw fail(error.description, code: usageExitCode) }
        throw fail(error.description)
    }
}

func parseSelector(_ text: String, _ record: ClusterRecord) throws -> [String] {
    do {
        return try NodeSelector(parsing: text, nodeCount: record.nodes.count).ids
    } catch {
        throw fail(error.description, code: usageExitCode)
    }
}

func parseDuration(_ text: String, option: String) throws -> Duration {
    do {
        return try DurationText.parse(text)
    } catch {
        throw fail("\(option): \(error.description)", code: usageExitCode)
    }
}

var style: Style { Style.forStandardOutput(environment: ProcessInfo.processInfo.environment) }
