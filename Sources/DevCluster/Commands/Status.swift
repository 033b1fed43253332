import Admin
import ArgumentParser
import Cluster
import Core
import Launcher

extension DevCluster {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Probe every node: processes, states, heartbeat ages, and who sees whom.",
            discussion: """
                devcluster status
                devcluster status --json | jq '.nodes[] | {id, seenAs}'
                devcluster status --endpoints http://node{1...4}:9000    # devnodes started by hand
                Exit codes: 0 healthy (all run, all see all online), 1 degraded, 2 unavailable (no quorum).
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var deployment: DeploymentOptions

        @Flag(name: .long, help: "Machine-readable output (schemaVersion 1).")
        var json = false

        func run() throws {
            let (launcher, record) = try deployment.resolve(cluster)
            let snapshot = launcher.snapshot(record)
            let verdict = snapshot.verdict
            if json {
                say(snapshot.document(record, home: launcher.isRemote ? nil : launcher.home).text)
            } else {
                render(record, snapshot, launcher)
            }
            throw ExitCode(verdict.exitCode)
        }

        /// How the other nodes see `id`: one state if they agree, else the worst with its count.
        func render(_ record: ClusterRecord, _ snapshot: ClusterSnapshot, _ launcher: Launcher) {
            say(Status.screen(record, snapshot, launcher, style: style))
        }

        /// The status as text: verdict, nodes table, who-sees-whom matrix (also `watch`'s screen).
        static func screen(
            _ record: ClusterRecord, _ snapshot: ClusterSnapshot, _ launcher: Launcher, style s: Style
        )
            -> String
        {
            var out: [String] = []
            func say(_ line: String) { out.append(line) }
            let verdict = snapshot.verdict
            let verdictColor: Style.Color = verdict == .healthy ? .green : (verdict == .degraded ? .yellow : .red)
            say(
                "cluster '\(record.name)' (\(launcher.location(record))): " + s.paint(verdict.rawValue, verdictColor)
                    + "\n")
            let rows = snapshot.nodes.map { n -> [(text: String, color: Style.Color)] in
                let seen = snapshot.seenAs(n.id)
                let seenColor: Style.Color = seen == "online" ? .green : (seen.hasPrefix("offline") ? .red : .yellow)
                let processColor: Style.Color =
                    switch n.process {
                    case .running: .green
                    case .paused: .yellow
                    case .stopped: .red
                    case .remote: n.status == nil ? .red : .plain
                    }
                return [
                    (n.id, .plain), (n.process == .stopped ? "-" : n.pid.map(String.init) ?? "-", .plain),
                    (n.endpoint, .cyan),
                    (n.process.rawValue, processColor), (seen, seenColor),
                    (snapshot.heartbeatAge(of: n.id).map { DurationText.format(.milliseconds($0)) } ?? "-", .plain),
                    (n.status.map { DurationText.format(.milliseconds($0.node.uptimeMs)) } ?? "-", .plain),
                    Status.dataCell(n.status?.healing),
                ]
            }
            say(s.table(["NODE", "PID", "ENDPOINT", "PROCESS", "SEEN AS", "HEARTBEAT AGE", "UPTIME", "DATA"], rows))
            guard snapshot.nodes.count > 1 else { return out.joined(separator: "\n") }
            say("who sees whom (each row is one node's view):")
            let ids = snapshot.nodes.map(\.id)
            let matrix = ids.map { row in
                [(row, Style.Color.plain)]
                    + ids.map { column -> (text: String, color: Style.Color) in
                        let cell = snapshot.cell(row: row, column: column)
                        let color: Style.Color =
                            switch cell {
                            case "online": .green
                            case "suspect": .yellow
                            case "offline": .red
                            default: .plain
                            }
                        return (cell, color)
                    }
            }
            say(s.table([""] + ids, matrix))
            for n in snapshot.nodes where n.process.mayAnswer && n.status == nil {
                let runs = n.process == .running ? "runs but " : ""
                say(s.paint("\(n.id) \(runs)does not answer: \(n.probeError ?? "?")", .yellow))
            }
            return out.joined(separator: "\n")
        }

        static func dataCell(_ h: NodeStatus.HealingSummary?) -> (text: String, color: Style.Color) {
            let text = HealingText.describe(h)
            return (text, text == "ok" ? .green : (text == "-" ? .plain : .yellow))
        }

    }
}
