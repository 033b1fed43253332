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
                say(statusJSON(record, snapshot, launcher).text)
            } else {
                render(record, snapshot, launcher)
            }
            throw ExitCode(verdict.exitCode)
        }

        /// How the other nodes see `id`: one state if they agree, else the worst with its count.
        static func seenAs(_ id: String, _ snapshot: ClusterSnapshot) -> String {
            let states = snapshot.nodes.filter { $0.id != id }.compactMap { $0.status?.view[id] }
            guard !states.isEmpty else { return snapshot.nodes.count == 1 ? "-" : "unknown" }
            for state in [FailureDetector.State.offline, .suspect, .online] {
                let n = states.count { $0 == state }
                if n == states.count { return state.rawValue }
                if n > 0 { return "\(state.rawValue) \(n)/\(states.count)" }
            }
            return "unknown"
        }

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
                let seen = Status.seenAs(n.id, snapshot)
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

        func statusJSON(_ record: ClusterRecord, _ snapshot: ClusterSnapshot, _ launcher: Launcher) -> JSONValue {
            .object([
                ("schemaVersion", .int(1)), ("name", .string(record.name)),
                ("home", launcher.isRemote ? .null : .string(launcher.home.path)),
                ("verdict", .string(snapshot.verdict.rawValue)), ("accessKey", .string(record.accessKey)),
                ("secretKey", .string(record.secretKey)),
                (
                    "nodes",
                    .array(
                        snapshot.nodes.map { n in
                            var pairs: [(String, JSONValue)] = [
                                ("id", .string(n.id)),
                                ("pid", n.process == .stopped ? .null : n.pid.map { .int(Int64($0)) } ?? .null),
                                ("endpoint", .string(n.endpoint)), ("port", .int(Int64(n.port))),
                                ("process", .string(n.process.rawValue)),
                                ("seenAs", .string(Status.seenAs(n.id, snapshot))),
                                ("heartbeatAgeMs", snapshot.heartbeatAge(of: n.id).map { .int($0) } ?? .null),
                            ]
                            if let status = n.status {
                                pairs.append(("incarnation", .int(Int64(status.node.incarnation))))
                                pairs.append(("uptimeMs", .int(status.node.uptimeMs)))
                                pairs.append(
                                    ("view", .object(status.peers.map { ($0.id, .string($0.state.rawValue)) })))
                                pairs.append(("requestsInFlight", .int(Int64(status.load.requestsInFlight))))
                                pairs.append(
                                    ("diskFreeBytes", status.load.diskFreeBytes.map { .int(Int64($0)) } ?? .null))
                                pairs.append(("data", .string(HealingText.describe(status.healing))))
                                if let r = status.healing?.rebuild {
                                    pairs.append(
                                        (
                                            "healing",
                                            .object([
                                                ("phase", .string(r.phase)), ("objectsDone", .int(r.objectsDone)),
                                                ("objectsTotal", .int(r.objectsTotal)),
                                                ("bytesDone", .int(r.bytesDone)),
                                                ("bytesTotal", .int(r.bytesTotal)),
                                                ("bytesPerSecond", .int(Int64(r.bytesPerSecond))),
                                                ("etaMs", r.etaMs.map { .int($0) } ?? .null),
                                            ])
                                        ))
                                }
                            } else {
                                pairs.append(("view", .null))
                                pairs.append(("error", .string(n.probeError ?? "not answering")))
                            }
                            return .object(pairs)
                        })
                ),
            ])
        }
    }
}
