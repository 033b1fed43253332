import ArgumentParser
import Core
import FoundationEssentials
import Launcher

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
