import ArgumentParser
import Core
import Launcher

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop every node of the cluster; its data stays unless --purge.",
            discussion: "devcluster down\ndevcluster down --purge     # also delete the cluster home and all its data")

        @OptionGroup var cluster: ClusterOptions

        @Flag(name: .long, help: "Delete the cluster home and all its data after stopping.")
        var purge = false

        func run() throws {
            let launcher = try cluster.launcher()
            try launching { () throws(LauncherError) in
                try launcher.home.withLock { () throws(LauncherError) in
                    var record = try launcher.home.load()
                    let outcomes = launcher.stop(
                        record.nodes.map(\.id), in: &record, signal: SIGTERM, timeout: Launcher.stopTimeout)
                    try launcher.home.save(record)
                    for node in record.nodes { say(describe(node.id, outcomes[node.id], launcher)) }
                    launcher.note("down", "all", purge ? "stopped; data deleted" : "stopped; data kept")
                    if purge {
                        try launcher.home.delete()
                        say("deleted \(launcher.home.path) and all its data")
                    } else {
                        say(
                            "data kept in \(launcher.home.path): 'devcluster up' restarts it, 'devcluster down --purge' deletes it"
                        )
                    }
                }
            }
        }
    }
}

func describe(_ id: String, _ outcome: Launcher.StopOutcome?, _ launcher: Launcher) -> String {
    switch outcome {
    case .alreadyStopped, nil: "\(id): already stopped"
    case .graceful(let d):
        launcher.stoppedCleanly(id)
            ? "\(id): stopped gracefully in \(DurationText.format(d))" : "\(id): exited in \(DurationText.format(d))"
    case .killed(let d): "\(id): killed (SIGKILL) after \(DurationText.format(d))"
    case .refused(let why): "\(id): \(why)"
    }
}
