import ArgumentParser
import Core
import FoundationEssentials
import Launcher

extension DevCluster {
    struct ScenarioCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scenario",
            abstract: "Play a tutorial that is also a test: a fresh cluster broken and checked step by step.",
            discussion: """
                devcluster scenario --list
                devcluster scenario rebuild              # narrated: each step's commands and what they print
                devcluster scenario --check partition    # as a test: one line a step, exit 1 at the first miss
                devcluster scenario ./mine.scenario
                The scenario's cluster lives in a home of its own (--home DIR: DIR/scenario-NAME; default a
                temporary folder) and is removed at the end, whatever happens. 'devcluster ui' plays the same
                scenarios step by step on the console's cluster. The step language is in the README.
                """)

        @Argument(help: ArgumentHelp("A scenario's name (see --list) or a .scenario file.", valueName: "scenario"))
        var scenario: String?

        @Flag(name: .long, help: "List the scenarios devcluster ships, with what each shows.")
        var list = false

        @Flag(name: .long, help: "Run as a test: no narration, one line a step, exit 1 at the first miss.")
        var check = false

        @Option(name: .long, help: ArgumentHelp("The folder the scenario's cluster home goes in.", valueName: "dir"))
        var home: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "The cluster's first port ({port}; default 8080, or a random one with --check).", valueName: "port"))
        var basePort: Int?

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            if list {
                for name in try launching({ () throws(LauncherError) in
                    try ScenarioLibrary.names(environment: environment, executable: ownExecutable)
                }) {
                    let loaded = try launching { () throws(LauncherError) in
                        try ScenarioLibrary.load(name, environment: environment, executable: ownExecutable)
                    }
                    say("\(name.padding(to: 12)) \(loaded.summary.first ?? "")")
                }
                return
            }
            guard let scenario else { throw fail("name a scenario (devcluster scenario --list)", code: usageExitCode) }
            let loaded = try launching { () throws(LauncherError) in
                try ScenarioLibrary.load(scenario, environment: environment, executable: ownExecutable)
            }
            ForegroundCommand.holdSignals()
            let root: String
            var temporary: String?
            if let home {
                root = home + "/scenario-" + loaded.name
            } else {
                guard let made = TemporaryFolder.make(prefix: "devcluster-scenario", environment: environment) else {
                    throw fail("cannot make a temporary folder for the scenario's cluster")
                }
                root = made
                temporary = made
            }
            // A random first port for checks, so runs side by side rarely meet (busy ports are skipped).
            let port = basePort ?? (check ? Int.random(in: 2_000..<5_000) * 10 : Launcher.defaultPort)
            let run = ScenarioRun(
                home: ClusterHome(root: root, name: ClusterHome.defaultName), environment: environment,
                executable: ownExecutable, basePort: port)
            if !check {
                say("scenario \(loaded.name): " + loaded.summary.joined(separator: " "))
            }
            let held = run.play(loaded, narrated: !check) { say($0) }
            let (status, removal) = run.devcluster(["down", "--purge"])
            if status != 0 {
                sayToStandardError("could not remove the scenario's cluster in \(root): \(removal.output)")
            }
            if let temporary, status == 0 { try? FileManager.default.removeItem(atPath: temporary) }
            // A cluster left running is a failure too: the next run would meet its ports.
            if !held || status != 0 || ForegroundCommand.interruption != nil { throw ExitCode(1) }
        }
    }
}
