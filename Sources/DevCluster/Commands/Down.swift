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
            let stopped = try launching { () throws(LauncherError) in try launcher.down(purge: purge) }
            for (id, outcome, cleanly) in stopped { say(describe(id, outcome, cleanly: cleanly)) }
            say(
                purge
                    ? "deleted \(launcher.home.path) and all its data"
                    : "data kept in \(launcher.home.path): 'devcluster up' restarts it, 'devcluster down --purge' deletes it"
            )
        }
    }
}

func describe(_ id: String, _ outcome: Launcher.StopOutcome?, cleanly: Bool) -> String {
    switch outcome {
    case .alreadyStopped, nil: "\(id): already stopped"
    case .graceful(let d):
        cleanly
            ? "\(id): stopped gracefully in \(DurationText.format(d))" : "\(id): exited in \(DurationText.format(d))"
    case .killed(let d): "\(id): killed (SIGKILL) after \(DurationText.format(d))"
    case .refused(let why): "\(id): \(why)"
    }
}
