import ArgumentParser
import Cluster
import Core
import Launcher

/// Options shared by the commands that inject a fault.
struct FaultOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("How long the fault lasts (the nodes end it themselves).", valueName: "duration"))
    var `for`: String?

    func expiresAt() throws -> Int64? {
        try self.for.map {
            WallTime.now().millisecondsSinceEpoch + (try parseDuration($0, option: "--for")).milliseconds
        }
    }
}

extension DevCluster {
    struct Partition: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut the links between two groups of nodes (inside the nodes: no root, nothing left behind).",
            discussion: """
                devcluster partition node1 node2              # both ways; requests are never answered
                devcluster partition node1 node2 --oneway     # node1 cannot reach node2; node2 still reaches node1
                devcluster partition --split node1,node2/node3,node4 --for 30s
                devcluster partition node3 all --mode reject  # refused at once, as by a closed port
                devcluster heal-partition                     # every link back
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: ArgumentHelp("Two groups of nodes (node1, node1,node2, node2-4, all).", valueName: "nodes"))
        var groups: [String] = []

        @Option(
            name: .long, help: ArgumentHelp("Two groups split by '/': node1,node2/node3,node4.", valueName: "groups"))
        var split: String?

        @Flag(name: .long, help: "Only the links from the first group to the second.")
        var oneway = false

        @Option(
            name: .long, help: ArgumentHelp("drop (never answered) or reject (refused at once).", valueName: "mode"))
        var mode: String = "drop"

        @OptionGroup var options: FaultOptions

        func run() throws {
            let sides =
                split.map { $0.split(separator: "/", omittingEmptySubsequences: false).map(String.init) } ?? groups
            guard sides.count == 2 else {
                throw ValidationError("name two groups: 'partition node1 node2' or '--split node1,node2/node3,node4'")
            }
            let mode = try cutMode(mode)
            let expiresAt = try options.expiresAt()
            try inject(cluster) { launcher, record in
                let a = try launcher.select(sides[0], in: record)
                let b = try launcher.select(sides[1], in: record)
                return FaultPlan.partition(a, b, oneway: oneway, mode: mode, expiresAt: expiresAt)
            }
        }
    }

    struct Isolate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut every link to and from a node: it keeps running, alone.",
            discussion:
                "devcluster isolate node2 --for 20s\ndevcluster isolate node2 --clients   # S3 clients cannot reach it either"
        )

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        @Option(name: .long, help: ArgumentHelp("drop or reject.", valueName: "mode"))
        var mode: String = "drop"

        @Flag(name: .long, help: "Cut S3 clients off from it too (its S3 requests dropped or refused).")
        var clients = false

        @OptionGroup var options: FaultOptions

        func run() throws {
            let mode = try cutMode(mode)
            let expiresAt = try options.expiresAt()
            try inject(cluster) { launcher, record in
                let nodes = try launcher.select(target.nodes, in: record)
                return FaultPlan.partition(
                    nodes, record.nodes.map(\.id).filter { !nodes.contains($0) }, oneway: false, mode: mode,
                    expiresAt: expiresAt)
                    + (clients
                        ? nodes.map { FaultRule(from: FaultRule.clients, to: $0, mode: mode, expiresAt: expiresAt) }
                        : [])
            }
        }
    }

    struct Slow: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delay every request to and from a node (500ms, 500ms±100ms).",
            discussion:
                "devcluster slow node3 500ms\ndevcluster slow node3 200ms±50ms --for 1m\ndevcluster slow node3 1s --clients   # its S3 requests too"
        )

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        @Argument(help: ArgumentHelp("The delay, with an optional jitter: 500ms, 500ms±100ms.", valueName: "delay"))
        var delay: String

        @Flag(name: .long, help: "Delay its S3 requests too (by the same delay, before they are served).")
        var clients = false

        @OptionGroup var options: FaultOptions

        func run() throws {
            guard let (ms, jitter) = FaultPlan.parseDelay(delay) else {
                throw ValidationError("'\(delay)': write a delay such as 500ms, or 500ms±100ms")
            }
            let expiresAt = try options.expiresAt()
            try inject(cluster) { launcher, record in
                let all = record.nodes.map(\.id)
                return try launcher.select(target.nodes, in: record).flatMap { node in
                    FaultPlan.slow(node, others: all, delayMs: ms, jitterMs: jitter, expiresAt: expiresAt)
                        + (clients
                            ? [
                                FaultRule(
                                    from: FaultRule.clients, to: node, mode: .delay, delayMs: ms, jitterMs: jitter,
                                    expiresAt: expiresAt)
                            ] : [])
                }
            }
        }
    }

    struct DiskFull: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disk-full",
            abstract: "Make nodes' disks refuse every write as a full one does (ENOSPC); --undo gives the room back.",
            discussion: "devcluster disk-full node3 --for 1m\ndevcluster disk-full node3 --undo")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        @Flag(name: .long, help: "End the fault.")
        var undo = false

        @OptionGroup var options: FaultOptions

        func run() throws {
            let expiresAt = try options.expiresAt()
            if undo {
                return try changeFaults(cluster) { launcher, record in
                    let nodes = try launcher.select(target.nodes, in: record)
                    return (
                        "disk room back on \(nodes.joined(separator: ", "))",
                        { rules in rules.removeAll { $0.mode == .diskFull && nodes.contains($0.from) } }
                    )
                }
            }
            try inject(cluster) { launcher, record in
                try launcher.select(target.nodes, in: record).map {
                    FaultRule(from: $0, to: $0, mode: .diskFull, expiresAt: expiresAt)
                }
            }
        }
    }

    struct HealPartition: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "heal-partition", abstract: "End every partition and slow link (faults clear).")

        @OptionGroup var cluster: ClusterOptions

        func run() throws {
            try clearFaults(cluster)
        }
    }

    struct Faults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The faults wanted, and what each node applies (a fault a node did not take shows).",
            discussion: "devcluster faults\ndevcluster faults clear")

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: ArgumentHelp("'clear' ends every fault.", valueName: "action"))
        var action: String?

        @Flag(
            name: .long,
            help:
                "Machine-readable output (schemaVersion 1): the wanted version and faults, and per node the version it applies."
        )
        var json = false

        func run() throws {
            if let action {
                guard action == "clear" else { throw ValidationError("'\(action)': the only action is 'clear'") }
                return try clearFaults(cluster)
            }
            let launcher = try cluster.launcher()
            let (record, wanted) = try launching { () throws(LauncherError) in
                (try launcher.home.load(), try launcher.wantedFaults())
            }
            let now = WallTime.now()
            let active = wanted.active(at: now)
            if json {
                let answers = launcher.faultReports(record)
                say(Faults.json(wanted.version, active, record, answers).text)
                // As the text form: a node that answers with an older table is behind.
                let behind = answers.values.contains { r in (try? r.get()).map { $0.version != wanted.version } ?? false
                }
                if behind { throw ExitCode(1) }
                return
            }
            say(
                active.isEmpty
                    ? "no faults wanted (version \(wanted.version))"
                    : "wanted (version \(wanted.version)):\n"
                        + active.map { "  " + describe($0) }.joined(separator: "\n"))
            let answers = launcher.faultReports(record)
            var behind = 0
            for node in record.nodes {
                switch answers[node.id] {
                case nil: say("\(node.id): not running (it takes the wanted faults when it starts)")
                case .failure(let e)?: say("\(node.id): no answer: \(e.description)")
                case .success(let report)?:
                    let inForce = report.active.filter { $0.from == node.id || $0.to == node.id }
                    let acked = report.version == wanted.version
                    if !acked { behind += 1 }
                    say(
                        "\(node.id): applies version \(report.version)\(acked ? "" : " (behind: wanted \(wanted.version))")"
                            + (inForce.isEmpty
                                ? ", no fault on its links" : ": " + inForce.map(\.description).joined(separator: ", "))
                    )
                }
            }
            if behind > 0 { throw ExitCode(1) }
        }

        static func json(
            _ version: UInt64, _ active: [FaultRule], _ record: ClusterRecord, _ answers: FaultAnswers
        )
            -> JSONValue
        {
            let nodes: [(String, JSONValue)] = record.nodes.map { node in
                switch answers[node.id] {
                case nil: (node.id, .object([("state", .string("not running"))]))
                case .failure(let e)?:
                    (node.id, .object([("state", .string("no answer")), ("error", .string(e.description))]))
                case .success(let report)?:
                    (
                        node.id,
                        .object([
                            ("state", .string("running")), ("version", .int(Int64(report.version))),
                            ("behind", .bool(report.version != version)),
                            (
                                "faults",
                                .array(report.active.filter { $0.from == node.id || $0.to == node.id }.map(rule))
                            ),
                        ])
                    )
                }
            }
            return .object([
                ("schemaVersion", .int(1)), ("version", .int(Int64(version))), ("wanted", .array(active.map(rule))),
                ("nodes", .object(nodes)),
            ])
        }

        static func rule(_ r: FaultRule) -> JSONValue {
            var fields: [(String, JSONValue)] = [
                ("from", .string(r.from)), ("to", .string(r.to)), ("mode", .string(r.mode.rawValue)),
                ("text", .string(r.description)),
            ]
            if let d = r.delayMs { fields.append(("delayMs", .int(d))) }
            if let j = r.jitterMs { fields.append(("jitterMs", .int(j))) }
            if let p = r.probability { fields.append(("probability", .double(p))) }
            if let e = r.expiresAt { fields.append(("expiresAt", .int(e))) }
            return .object(fields)
        }
    }
}

/// The `--mode` of a cut link.
func cutMode(_ text: String) throws -> FaultRule.Mode {
    guard let mode = FaultRule.Mode(rawValue: text), mode == .drop || mode == .reject else {
        throw ValidationError("--mode: '\(text)' is not drop or reject")
    }
    return mode
}

func describe(_ rule: FaultRule) -> String {
    rule.description
        + (rule.expiresAt.map { " until \(WallTime(millisecondsSinceEpoch: $0).localClock)" } ?? "")
}

/// A change of the wanted faults: what to say, and the edit (made under the home's lock).
typealias FaultChange = (summary: String, edit: (inout [FaultRule]) -> Void)

/// Makes the change `plan` decides for this cluster, pushes the faults, and says what each node took.
func changeFaults(_ cluster: ClusterOptions, _ plan: (Launcher, ClusterRecord) throws -> FaultChange) throws {
    let launcher = try cluster.launcher()
    let record = try launching { () throws(LauncherError) in try launcher.home.load() }
    let change = try plan(launcher, record)
    let (table, answers) = try launching { () throws(LauncherError) in
        try launcher.changeFaults { change.edit(&$0) }
    }
    say(change.summary)
    report(table, answers, record)
}

/// Adds the rules `plan` makes to the wanted faults.
func inject(_ cluster: ClusterOptions, _ plan: (Launcher, ClusterRecord) throws -> [FaultRule]) throws {
    try changeFaults(cluster) { launcher, record in
        let added = try plan(launcher, record)
        guard !added.isEmpty else { throw ValidationError("those groups have no link between them") }
        return (added.map { "wanted: \(describe($0))" }.joined(separator: "\n"), { $0 = FaultPlan.merge($0, added) })
    }
}

func clearFaults(_ cluster: ClusterOptions) throws {
    try changeFaults(cluster) { _, _ in ("every fault cleared", { $0 = [] }) }
}

/// One line per node: whether it took the new table.
func report(_ table: FaultTable, _ answers: FaultAnswers, _ record: ClusterRecord) {
    for node in record.nodes {
        switch answers[node.id] {
        case nil: say("  \(node.id): not running: it takes them when it starts")
        case .failure(let e)?: say("  \(node.id): did NOT take them: \(e.description) (devcluster faults shows it)")
        case .success(let r)?:
            say("  \(node.id): took version \(r.version)" + (r.version == table.version ? "" : " (newer than ours)"))
        }
    }
}
