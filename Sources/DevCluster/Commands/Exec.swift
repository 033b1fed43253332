import ArgumentParser
import Core
import FoundationEssentials
import Launcher

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct Exec: ParsableCommand {
        /// The exit code when the cluster could not be started (the command never ran).
        static let clusterFailedExitCode: Int32 = 125

        static let configuration = CommandConfiguration(
            abstract: "Start a fresh cluster, run a command against it, and remove the cluster whatever happens.",
            discussion: """
                The command gets the cluster in its environment (as 'devcluster env' prints it): AWS_ENDPOINT_URL,
                AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, DEVCLUSTER_ENDPOINTS, and DEVCLUSTER_HOME,
                so 'devcluster kill node2' inside it breaks that cluster. Exits with the command's status, or 125
                when the cluster could not be started.
                  devcluster exec -- pytest -q tests/
                  devcluster exec --nodes 1 -- aws s3 mb s3://scratch
                  devcluster exec -- sh -c 'devcluster kill node2 && ./my-app-test'
                """)

        @Option(name: .long, help: ArgumentHelp("Nodes in the cluster, 1 to 16.", valueName: "n"))
        var nodes: Int = 4

        @Option(name: .long, help: ArgumentHelp("First port to try (busy ones are skipped).", valueName: "port"))
        var basePort: Int = Launcher.defaultPort

        @Flag(name: .long, help: "The demo profile: 200ms heartbeats, offline after 1s.")
        var demo = false

        @Flag(name: .long, help: "Print nothing of devcluster's own (the command's output is untouched).")
        var quiet = false

        @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
        var command: [String] = []

        func run() throws {
            var command = command
            if command.first == "--" { command.removeFirst() }
            guard !command.isEmpty else {
                throw fail("exec needs a command: devcluster exec -- CMD ...", code: usageExitCode)
            }
            ForegroundCommand.holdSignals()
            let note: (String) -> Void = { text in if !quiet { sayToStandardError("devcluster exec: \(text)") } }
            let environment = ProcessInfo.processInfo.environment
            guard let root = TemporaryFolder.make(prefix: "devcluster-exec", environment: environment) else {
                throw fail("cannot make a temporary folder: \(String(cString: strerror(errno)))")
            }
            let launcher = Launcher(
                home: ClusterHome(root: root, name: ClusterHome.defaultName), environment: environment,
                executable: ownExecutable, say: note)
            var options = UpOptions()
            options.count = nodes
            options.basePort = basePort
            if demo { options.heartbeat = .demo }
            let status: Int32
            do throws(LauncherError) {
                let start = Instant.now()
                let record = try launcher.up(options)
                note(
                    "\(record.nodes.count) node\(record.nodes.count == 1 ? "" : "s") up in \(DurationText.format(Instant.now().since(start))) at \(record.nodes.map(\.endpoint).joined(separator: " "))"
                )
                let variables = try ClusterEnvironment.variables(record, home: launcher.home)
                if let signum = ForegroundCommand.interruption {
                    status = 128 + signum
                } else {
                    var childEnvironment = environment
                    for (name, value) in variables { childEnvironment[name] = value }
                    // `devcluster` inside the command is this one, installed or not.
                    if let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                        let folder = String(own[..<(own.lastIndex(of: "/") ?? own.startIndex)])
                        childEnvironment["PATH"] = folder + (environment["PATH"].map { ":" + $0 } ?? "")
                    }
                    status = ForegroundCommand.run(command, environment: childEnvironment)
                }
            } catch {
                // Not the command's failure: exec's own, told apart by its code (as `docker run` does).
                sayToStandardError("devcluster exec: \(error.description)")
                status = error.isUsage ? usageExitCode : Exec.clusterFailedExitCode
            }
            if launcher.home.exists {
                do {
                    _ = try launcher.down(purge: true)
                    note("cluster removed; \(command[0]) exited \(status)")
                } catch {
                    // Its nodes may still run there: the folder stays, named, for the user to look at.
                    note("could not remove the cluster in \(launcher.home.path): \(error)")
                    throw ExitCode(status)
                }
            }
            // The temporary folder is exec's own: whatever a failed start left in it goes too.
            try? FileManager.default.removeItem(atPath: root)
            throw ExitCode(status)
        }
    }
}
