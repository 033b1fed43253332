import ArgumentParser
import Core
import Loop

@main
struct DevCluster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devcluster",
        abstract: "Start, watch and break a local erasure-coded S3 cluster.",
        discussion: """
            A session:
              devcluster up 4              # four nodes on 127.0.0.1:8080-8083
              devcluster status            # who runs, who sees whom
              devcluster kill node2        # SIGKILL; watch the others notice
              devcluster events            # one timeline from every node
              devcluster start node2       # back, with a new incarnation
              devcluster down              # stop everything (data kept; --purge deletes it)

            Clusters live in ./sandbox/<name> (or --home / $DEVCLUSTER_HOME). Node selectors: node2,
            node1,node3, node2-4, all. Colour only on a terminal, never with NO_COLOR set; --json gives
            a document instead of text, --quiet prints errors only.

            Exit codes: 0 done; 1 failed, timed out, or a check found a problem (verify, chaos, bench
            errors, a degraded status, a node behind in faults); 2 the cluster is unavailable (status); 64
            bad usage; exec exits with its command's status (127 not found, 128 + N when signal N ended
            it, 125 when the cluster could not start).
            """,
        version: Version.string,
        groupedSubcommands: [
            CommandGroup(
                name: "Cluster",
                subcommands: [Up.self, Down.self, Ls.self, Env.self, Exec.self, Certs.self, Deploy.self]),
            CommandGroup(
                name: "Nodes", subcommands: [Kill.self, Stop.self, Start.self, Restart.self, Pause.self, Resume.self]),
            CommandGroup(
                name: "Observe", subcommands: [Status.self, Watch.self, Logs.self, Events.self, WaitFor.self, UI.self]),
            CommandGroup(
                name: "Data",
                subcommands: [Verify.self, Heal.self, Wipe.self, Corrupt.self, Bench.self, Bucket.self, Lifecycle.self]),
            CommandGroup(
                name: "Faults",
                subcommands: [
                    Partition.self, Isolate.self, Slow.self, DiskFull.self, HealPartition.self, Faults.self, Chaos.self,
                ]),
            CommandGroup(name: "Tutorials", subcommands: [ScenarioCommand.self]),
        ])

    static func main() {
        Loop.Process.ignoreBrokenPipe()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
