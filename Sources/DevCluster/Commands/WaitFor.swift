import ArgumentParser
import Core
import Launcher

extension DevCluster {
    struct WaitFor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "wait-for",
            abstract:
                "Wait until nodes reach a state, as their peers see it or as processes; exit 1 on timeout, 64 on bad usage.",
            discussion: """
                devcluster wait-for node2=offline --seen-by all --within 5s
                devcluster wait-for all=online
                devcluster wait-for node3=stopped
                devcluster wait-for all=online --endpoints http://node{1...4}:9000   # devnodes by hand
                States: online, suspect, offline (seen by the other running nodes, or --seen-by), or
                running, stopped, paused (the process).
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var deployment: DeploymentOptions

        @Argument(help: ArgumentHelp("NODES=STATE, e.g. node2=offline or all=online.", valueName: "condition"))
        var condition: String

        @Option(
            name: .long,
            help: ArgumentHelp("Whose view counts (default: every other running node).", valueName: "nodes"))
        var seenBy: String?

        @Option(name: .long, help: ArgumentHelp("Give up after this long.", valueName: "duration"))
        var within: String = "30s"

        func run() throws {
            let (launcher, record) = try deployment.resolve(cluster)
            let parsed: WaitCondition
            do {
                parsed = try WaitCondition(parsing: condition, seenBy: seenBy, nodeCount: record.nodes.count)
            } catch {
                throw fail(error.description, code: usageExitCode)
            }
            if launcher.isRemote, case .process = parsed.target {
                throw fail(
                    "--endpoints: devcluster knows no process of a deployment it did not start: wait for online, suspect or offline",
                    code: usageExitCode)
            }
            let limit = try parseDuration(within, option: "--within")
            let start = Instant.now()
            let (snapshot, held) = launcher.wait(for: record, timeout: limit) { parsed.evaluate($0).holds }
            if held {
                say("\(condition) after \(DurationText.format(Instant.now().since(start)))")
            } else {
                let unmet = parsed.evaluate(snapshot).unmet
                throw fail(
                    "\(condition) not reached within \(DurationText.format(limit)): \(unmet.joined(separator: "; "))")
            }
        }
    }
}
