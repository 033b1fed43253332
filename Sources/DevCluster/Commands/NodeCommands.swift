import ArgumentParser
import Cluster
import Core
import Launcher

#if canImport(Glibc)
import Glibc
#endif

/// Options of the commands that act on some nodes.
struct NodeTarget: ParsableArguments {
    @Argument(help: ArgumentHelp("Which nodes: node2, node1,node3, node2-4 or all.", valueName: "nodes"))
    var nodes: String
}

extension DevCluster {
    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SIGKILL nodes: a crash, with no goodbye to the peers.",
            discussion: "devcluster kill node2\ndevcluster kill node2,node4")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        func run() throws {
            try signalNodes(cluster, target.nodes, SIGKILL, timeout: .seconds(5))
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop nodes gracefully (SIGTERM: finish in-flight requests, tell the peers, exit 0).",
            discussion: "devcluster stop node3          # SIGKILL if still running after --timeout")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        @Option(name: .long, help: ArgumentHelp("Time to wait before SIGKILL.", valueName: "duration"))
        var timeout: String = "12s"

        func run() throws {
            try signalNodes(cluster, target.nodes, SIGTERM, timeout: try parseDuration(timeout, option: "--timeout"))
        }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start stopped nodes with their ports and data, and wait until the others see them online.",
            discussion: "devcluster start node2")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        @Option(name: .long, help: ArgumentHelp("How long to wait for the peers to see them.", valueName: "duration"))
        var timeout: String = "15s"

        func run() throws {
            try startNodes(cluster, target.nodes, timeout: try parseDuration(timeout, option: "--timeout"))
        }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop nodes gracefully, then start them again.", discussion: "devcluster restart node1-2")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        func run() throws {
            try signalNodes(cluster, target.nodes, SIGTERM, timeout: Launcher.stopTimeout)
            try startNodes(cluster, target.nodes, timeout: .seconds(15))
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Freeze nodes (SIGSTOP): alive to the kernel, silent to the peers.",
            discussion: "devcluster pause node3\ndevcluster resume node3")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        func run() throws {
            try pauseNodes(cluster, target.nodes, resume: false)
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Thaw paused nodes (SIGCONT).", discussion: "devcluster resume node3")

        @OptionGroup var cluster: ClusterOptions
        @OptionGroup var target: NodeTarget

        func run() throws {
            try pauseNodes(cluster, target.nodes, resume: true)
        }
    }
}

func signalNodes(_ cluster: ClusterOptions, _ selector: String, _ signum: Int32, timeout: Duration) throws {
    let launcher = try cluster.launcher()
    try launching { () throws(LauncherError) in
        try launcher.home.withLock { () throws(LauncherError) in
            var record = try launcher.home.load()
            let ids = try launcher.select(selector, in: record)
            let outcomes = launcher.stop(ids, in: &record, signal: signum, timeout: timeout)
            try launcher.home.save(record)
            for id in ids { say(describe(id, outcomes[id], cleanly: launcher.stoppedCleanly(id))) }
        }
    }
}

func startNodes(_ cluster: ClusterOptions, _ selector: String, timeout: Duration) throws {
    let launcher = try cluster.launcher()
    let start = Instant.now()
    let (record, started) = try launching { () throws(LauncherError) in
        try launcher.home.withLock { () throws(LauncherError) in
            var record = try launcher.home.load()
            let ids = try launcher.select(selector, in: record)
            var toStart: [String] = []
            for id in ids {
                switch launcher.processState(record, id) {
                case .running: say("\(id): already running")
                case .paused: say("\(id): paused; 'devcluster resume \(id)' thaws it")
                case .stopped: toStart.append(id)
                case .remote: say("\(id): not started by devcluster: start it where it runs")
                }
            }
            try launcher.spawn(toStart, in: &record)
            try launcher.home.save(record)
            return (record, toStart)
        }
    }
    guard !started.isEmpty else { return }
    // A peer cut off from a started node by an injected fault is not waited for: it cannot see it.
    let faults = (try? launcher.wantedFaults().active(at: .now())) ?? []
    func cutOff(_ a: String, _ b: String) -> Bool {
        faults.contains { ($0.from == a && $0.to == b) || ($0.from == b && $0.to == a) }
    }
    let (snapshot, ready) = launcher.wait(for: record, timeout: timeout) { s in
        for id in started where launcher.processState(record, id) == .stopped { return true }
        let observers = s.nodes.filter { $0.process == .running }
        return started.allSatisfy { id in
            observers.allSatisfy { o in
                o.id == id ? o.status != nil : cutOff(o.id, id) || o.status?.view[id] == .online
            }
        }
    }
    for id in started {
        if launcher.processState(record, id) == .stopped {
            let tail = launcher.logTail(id, lines: 15).map { "  " + $0 }.joined(separator: "\n")
            throw fail("\(id) exited during start; last lines of its log:\n\(tail)")
        }
        let pid = record.node(id)?.process.map { String($0.pid) } ?? "?"
        let seenBy = snapshot.nodes.filter { $0.id != id && $0.status?.view[id] == .online }.map(\.id)
        say(
            "\(id): started (pid \(pid)); seen online by \(seenBy.isEmpty ? "no one yet" : seenBy.joined(separator: ", ")) after \(DurationText.format(Instant.now().since(start)))"
        )
    }
    if !ready {
        throw fail(
            "not every running node sees the started nodes online after \(DurationText.format(timeout)): see 'devcluster status'"
        )
    }
}

func pauseNodes(_ cluster: ClusterOptions, _ selector: String, resume: Bool) throws {
    let launcher = try cluster.launcher()
    let problems = try launching { () throws(LauncherError) in
        try launcher.home.withLock { () throws(LauncherError) in
            let record = try launcher.home.load()
            let ids = try launcher.select(selector, in: record)
            let problems = launcher.pause(ids, in: record, resume: resume)
            for id in ids where problems[id] == nil {
                say("\(id): \(resume ? "resumed (SIGCONT)" : "paused (SIGSTOP)")")
            }
            return problems
        }
    }
    for (id, problem) in problems.sorted(by: { $0.key < $1.key }) { say("\(id): \(problem)") }
    if !problems.isEmpty { throw ExitCode(1) }
}
