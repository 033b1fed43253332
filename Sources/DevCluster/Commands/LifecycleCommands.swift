import ArgumentParser
import Core
import Launcher

extension DevCluster {
    struct Lifecycle: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the buckets' lifecycle rules now, or as if time had passed.",
            subcommands: [Run.self])

        struct Run: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Run a lifecycle pass now and print what it removed.",
                discussion: """
                    The nodes apply lifecycle rules once an hour on their own. This runs a pass at once, flat out.
                      devcluster lifecycle run                 # what has expired by now
                      devcluster lifecycle run --days 31       # what will have expired in 31 days
                    """)

            @OptionGroup var cluster: ClusterOptions

            @Option(name: .long, help: ArgumentHelp("Judge the rules as if this many days had passed.", valueName: "n"))
            var days: Int = 0

            @Option(name: .long, help: ArgumentHelp("Give up waiting after this long.", valueName: "duration"))
            var within: String = "10m"

            func run() throws {
                guard days >= 0, days <= 36_500 else { throw ValidationError("--days is 0 to 36500") }
                let limit = try parseDuration(within, option: "--within")
                let launcher = try cluster.launcher()
                let asOf = WallTime(
                    millisecondsSinceEpoch: WallTime.now().millisecondsSinceEpoch + Int64(days) * 86_400_000)
                let pass = try launching { () throws(LauncherError) in
                    try launcher.runLifecycle(try launcher.home.load(), asOf: asOf, timeout: limit)
                }
                say(
                    "lifecycle pass \(pass.number)\(days > 0 ? " (as of \(days) days from now)" : ""): "
                        + "expired \(pass.expired), noncurrent versions removed \(pass.noncurrentRemoved), "
                        + "delete markers removed \(pass.deleteMarkersRemoved), uploads aborted \(pass.uploadsAborted)"
                        + (pass.refused > 0 ? ", \(pass.refused) kept by object lock or failed" : ""))
            }
        }
    }
}
