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
            node1,node3, node2-4, all.
            """,
        version: Version.string,
        groupedSubcommands: [
            CommandGroup(name: "Cluster", subcommands: [Up.self, Down.self, Ls.self, Env.self, Exec.self]),
            CommandGroup(
                name: "Nodes", subcommands: [Kill.self, Stop.self, Start.self, Restart.self, Pause.self, Resume.self]),
            CommandGroup(
                name: "Observe", subcommands: [Status.self, Watch.self, Logs.self, Events.self, WaitFor.self]),
            CommandGroup(
                name: "Data",
                subcommands: [Verify.self, Heal.self, Wipe.self, Corrupt.self, Bench.self, Bucket.self, Lifecycle.self]),
            CommandGroup(
                name: "Faults",
                subcommands: [
                    Partition.self, Isolate.self, Slow.self, DiskFull.self, HealPartition.self, Faults.self, Chaos.self,
                ]),
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
