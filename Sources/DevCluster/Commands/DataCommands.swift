import ArgumentParser
import Core
import Launcher

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct Wipe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lose nodes' disks: stop them, delete their data folders, start them empty to rebuild.",
            discussion: """
                devcluster wipe node2 && devcluster watch      # node2 rebuilds itself from its peers
                The node finds it belongs to a cluster that holds data, rebuilds every object it should
                hold a shard of (status and events show progress, rate and ETA), and serves meanwhile.
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        func run() throws {
            let launcher = try cluster.launcher()
            try launching { () throws(LauncherError) in
                try launcher.home.withLock { () throws(LauncherError) in
                    var record = try launcher.home.load()
                    let ids = try launcher.select(target.nodes, in: record)
                    try launcher.wipe(ids, in: &record)
                    for id in ids {
                        say("\(id): wiped (data folder deleted) and started empty: it rebuilds from its peers")
                    }
                }
            }
            say("follow it: devcluster status, or devcluster events -f")
        }
    }

    struct Corrupt: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Flip bytes of a node's shard of an object on disk (bitrot), behind the node's back.",
            discussion: """
                devcluster corrupt node3 photos/cat.jpg     # node3's shard of it
                devcluster corrupt photos/cat.jpg --shard 0 # whichever node holds shard 0
                devcluster verify                           # reports it (exit 1); a read or the scanner heals it
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: ArgumentHelp("[NODE] BUCKET/KEY.", valueName: "target"))
        var arguments: [String]

        @Option(name: .long, help: ArgumentHelp("Corrupt the shard with this index.", valueName: "index"))
        var shard: Int?

        func run() throws {
            guard (1...2).contains(arguments.count) else {
                throw fail("give the object as BUCKET/KEY, after a node unless --shard is given", code: usageExitCode)
            }
            let object = arguments.last!
            guard let slash = object.firstIndex(of: "/"), slash != object.startIndex,
                object.index(after: slash) != object.endIndex
            else { throw fail("'\(object)' is not BUCKET/KEY", code: usageExitCode) }
            let node = arguments.count == 2 ? arguments[0] : nil
            guard node != nil || shard != nil else {
                throw fail(
                    "name the node (devcluster corrupt node3 \(object)) or the shard (--shard 0)", code: usageExitCode)
            }
            let launcher = try cluster.launcher()
            let record = try launching { () throws(LauncherError) in try launcher.home.load() }
            if let node { _ = try parseSelector(node, record) }
            let done = try launching { () throws(LauncherError) in
                try launcher.corrupt(
                    record, node: node, bucket: String(object[..<slash]),
                    key: String(object[object.index(after: slash)...]),
                    shard: shard)
            }
            say("\(done.node): flipped byte \(done.offset) of its shard \(done.shard) of \(object) (\(done.file))")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every object on every node: readable, byte-exact against its checksums, fully redundant.",
            discussion: """
                devcluster verify            # exit 0 clean, 1 problems (listed)
                devcluster verify --json
                devcluster verify --endpoints http://node{1...4}:9000/data   # devnodes started by hand
                Every running node reads back all its shards and checks every block's CRC-64; an object is
                fully redundant when every node holds a good shard of the same write, each a different one.
                """)

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var deployment: DeploymentOptions

        @Flag(name: .long, help: "Machine-readable output (schemaVersion 1).")
        var json = false

        func run() throws {
            let (launcher, record) = try deployment.resolve(cluster)
            let report = launcher.verify(record)
            if json {
                say(report.json.text)
            } else {
                Verify.render(report, nodes: record.nodes.count)
            }
            if !report.isClean { throw ExitCode(1) }
        }

        static func render(_ report: VerifyReport, nodes: Int) {
            let s = style
            let checked =
                "\(report.objects) objects on \(nodes - report.unchecked.count) of \(nodes) nodes, \(ByteSize.format(report.shardBytes)) of shards read back"
            if report.isClean {
                say(s.paint("clean", .green) + ": \(checked): all readable, byte-exact and fully redundant")
                return
            }
            say(
                s.paint("problems", .red)
                    + ": \(checked); \(report.readable) readable, \(report.fullyRedundant) fully redundant")
            for (node, why) in report.unchecked.sorted(by: { $0.key < $1.key }) {
                say("  \(node): not checked: \(why)")
            }
            for p in report.problems.prefix(20) {
                say("  \(p.object): \(p.kind)\(p.node.map { " on \($0)" } ?? ""): \(p.detail)")
            }
            if report.problems.count > 20 {
                say("  ... and \(report.problems.count - 20) more (--json lists them all)")
            }
        }
    }

    struct Heal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a full heal now on every node: re-check every shard and rebuild what is missing or bad.",
            discussion: """
                devcluster heal --wait       # progress until everything is fully redundant, then a verify
                """)

        @OptionGroup var cluster: ClusterOptions

        @Flag(name: .long, help: "Wait until every node is done, then verify.")
        var wait = false

        @Option(name: .long, help: ArgumentHelp("Give up waiting after this long.", valueName: "duration"))
        var within: String = "10m"

        func run() throws {
            let limit = try parseDuration(within, option: "--within")
            let launcher = try cluster.launcher()
            let record = try launching { () throws(LauncherError) in try launcher.home.load() }
            let passes = launcher.startHeal(record)
            guard !passes.isEmpty else { throw fail("no node answered: is the cluster up? (devcluster status)") }
            say("heal started on \(passes.keys.sorted().joined(separator: ", "))")
            guard wait else { return }
            let s = style
            let start = Instant.now()
            let (_, settled) = launcher.wait(for: record, timeout: limit) { snapshot in
                if s.enabled {
                    let h = snapshot.nodes.compactMap { $0.status?.healing }
                    let scanned = h.reduce(Int64(0)) { $0 + ($1.scan?.objects ?? 0) }
                    let healed = h.reduce(0) { $0 + $1.healed + $1.removed }
                    let queued = h.reduce(0) { $0 + $1.queued + $1.running }
                    let rebuilding = snapshot.nodes.compactMap { n in n.status?.healing?.rebuild.map { _ in n.id } }
                    var line = "\r  scanned \(scanned) shards, healed \(healed), queued \(queued)"
                    if !rebuilding.isEmpty { line += ", rebuilding \(rebuilding.joined(separator: ","))" }
                    say(line.padding(to: 72), terminator: "")
                }
                return Launcher.healSettled(snapshot, passes: passes)
            }
            if s.enabled { say("\r" + String(repeating: " ", count: 72) + "\r", terminator: "") }
            guard settled else {
                throw fail("healing was not done within \(DurationText.format(limit)): see devcluster status")
            }
            say("healing done after \(DurationText.format(Instant.now().since(start)))")
            let report = launcher.verify(record)
            Verify.render(report, nodes: record.nodes.count)
            if !report.isClean { throw ExitCode(1) }
        }
    }
}
