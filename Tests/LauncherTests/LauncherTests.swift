import Admin
import Cluster
import Core
import Testing

@testable import Launcher

#if canImport(Glibc)
import Glibc
#endif

@Suite("node selectors")
struct NodeSelectorTests {
    @Test(
        "selectors name the right nodes",
        arguments: [
            ("node2", [2]), ("node1,node3", [1, 3]), ("node2-4", [2, 3, 4]), ("all", [1, 2, 3, 4]),
            ("node1,node3-4", [1, 3, 4]),
            ("NODE2", [2]), ("node2, node2", [2]),
        ])
    func parses(text: String, numbers: [Int]) throws {
        #expect(try NodeSelector(parsing: text, nodeCount: 4).numbers == numbers)
    }

    @Test(
        "bad selectors are refused with a hint",
        arguments: ["", "node5", "node0", "2", "node4-2", "nodes", "node1-", "node1--3", "x,node1"])
    func refuses(text: String) {
        #expect(throws: NodeSelector.Invalid.self) { try NodeSelector(parsing: text, nodeCount: 4) }
    }
}

func status(_ id: String, view: [String: FailureDetector.State], online: Int? = nil) -> NodeStatus {
    let members = view.count + 1
    let seen = online ?? (1 + view.values.count { $0 == .online })
    return NodeStatus(
        schemaVersion: 1,
        node: .init(
            id: id, incarnation: 1, endpoint: "", pid: 1, startedAt: "", uptimeMs: 0, version: "", dataDir: "",
            shuttingDown: false),
        cluster: .init(
            members: members, online: seen, quorum: members / 2 + 1, quorumAvailable: seen >= members / 2 + 1),
        load: NodeLoad(), timing: .init(heartbeatIntervalMs: 1000, suspectAfterMs: 2000, deadAfterMs: 3000),
        peers: view.sorted { $0.key < $1.key }.map {
            .init(
                id: $0.key, endpoint: "", state: $0.value, lastHeardMs: 10, stateForMs: 0, incarnation: 1, view: nil,
                load: nil)
        },
        http: .init(connections: 0, requests: 0, protocolErrors: 0, timeouts: 0, connectionsRefused: 0))
}

func snapshot(_ nodes: [(String, ProcessState, [String: FailureDetector.State]?)]) -> ClusterSnapshot {
    ClusterSnapshot(
        nodes: nodes.enumerated().map { i, n in
            .init(
                id: n.0, port: 8080 + i, endpoint: "", pid: 100, process: n.1,
                status: n.2.map { status(n.0, view: $0) }, probeError: nil)
        })
}

@Suite("cluster verdicts and wait conditions")
struct SnapshotTests {
    let healthy = snapshot([
        ("node1", .running, ["node2": .online, "node3": .online]),
        ("node2", .running, ["node1": .online, "node3": .online]),
        ("node3", .running, ["node1": .online, "node2": .online]),
    ])
    let oneDown = snapshot([
        ("node1", .running, ["node2": .offline, "node3": .online]), ("node2", .stopped, nil),
        ("node3", .running, ["node1": .online, "node2": .suspect]),
    ])
    let twoDown = snapshot([
        ("node1", .running, ["node2": .offline, "node3": .offline]), ("node2", .stopped, nil), ("node3", .paused, nil),
    ])

    @Test("healthy, degraded and unavailable give exit codes 0, 1 and 2")
    func verdicts() {
        #expect(healthy.verdict == .healthy)
        #expect(oneDown.verdict == .degraded)
        #expect(twoDown.verdict == .unavailable)
        #expect([healthy, oneDown, twoDown].map(\.verdict.exitCode) == [0, 1, 2])
    }

    @Test("the matrix shows each node's own view")
    func matrix() {
        #expect(oneDown.cell(row: "node1", column: "node2") == "offline")
        #expect(oneDown.cell(row: "node3", column: "node2") == "suspect")
        #expect(oneDown.cell(row: "node2", column: "node1") == "?")
        #expect(oneDown.cell(row: "node1", column: "node1") == "self")
    }

    @Test("wait conditions hold only when every observer agrees")
    func conditions() throws {
        let offline = try WaitCondition(parsing: "node2=offline", seenBy: nil, nodeCount: 3)
        #expect(!offline.evaluate(oneDown).holds)
        #expect(offline.evaluate(oneDown).unmet == ["node3 sees node2 suspect"])
        let byNode1 = try WaitCondition(parsing: "node2=offline", seenBy: "node1", nodeCount: 3)
        #expect(byNode1.evaluate(oneDown).holds)
        #expect(try WaitCondition(parsing: "all=online", seenBy: nil, nodeCount: 3).evaluate(healthy).holds)
        #expect(!(try WaitCondition(parsing: "all=online", seenBy: nil, nodeCount: 3).evaluate(oneDown).holds))
        #expect(try WaitCondition(parsing: "node2=stopped", seenBy: nil, nodeCount: 3).evaluate(oneDown).holds)
        #expect(try WaitCondition(parsing: "node3=paused", seenBy: nil, nodeCount: 3).evaluate(twoDown).holds)
        // An observer that does not answer can never confirm.
        let byNode3 = try WaitCondition(parsing: "node2=offline", seenBy: "node3", nodeCount: 3)
        #expect(byNode3.evaluate(twoDown).unmet == ["node3 is not answering"])
    }

    @Test("malformed conditions are refused", arguments: ["node2", "node2=dead", "node9=online", "=online"])
    func badConditions(text: String) {
        #expect(throws: WaitCondition.Invalid.self) { try WaitCondition(parsing: text, seenBy: nil, nodeCount: 3) }
    }
}

@Suite("templates")
struct TemplateTests {
    @Test("placeholders become JSON values; unknown and unused ones are errors")
    func render() throws {
        let out = try Templates.render(
            "{\"a\": {{name}}, \"b\": {{ list }}}", values: ["name": .string("x\"y"), "list": .array([.int(1)])],
            source: "t")
        #expect(out == "{\"a\": \"x\\\"y\", \"b\": [1]}")
        #expect(throws: LauncherError.self) { try Templates.render("{{nope}}", values: [:], source: "t") }
        #expect(throws: LauncherError.self) { try Templates.render("{}", values: ["unused": .null], source: "t") }
        #expect(throws: LauncherError.self) { try Templates.render("{{open", values: [:], source: "t") }
    }
}

@Suite("timeline")
struct TimelineTests {
    @Test("events from several files come out in time order, and read only once each")
    func merge() throws {
        let dir = "/tmp/dc-timeline-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystemHelper.makeDirectory(dir)
        defer { FileSystemHelper.remove(dir) }
        let e1 = Event(
            time: WallTime(millisecondsSinceEpoch: 1000), source: "node1", kind: EventKind("node_offline"),
            fields: [("peer", .string("node2"))])
        let e2 = Event(
            time: WallTime(millisecondsSinceEpoch: 500), source: "node3", kind: EventKind("node_suspect"),
            fields: [("peer", .string("node2"))])
        try FileSystemHelper.write(
            dir + "/a", "{\"time\":\"x\",\"level\":\"info\",\"msg\":\"not an event\"}\n" + e1.json.text + "\n")
        try FileSystemHelper.write(dir + "/b", e2.json.text + "\n" + "{\"partial")
        var cursors = [Timeline.Cursor(path: dir + "/a"), Timeline.Cursor(path: dir + "/b")]
        let events = Timeline.sorted(cursors.indices.flatMap { cursors[$0].readEvents() })
        #expect(events.map(\.source) == ["node3", "node1"])
        #expect(cursors.indices.flatMap { cursors[$0].readEvents() }.isEmpty)
        let line = Timeline.format(events[1], style: Style(enabled: false))
        #expect(line.contains("node_offline") && line.contains("node2 offline"))
    }
}

@Suite("fault plans")
struct FaultPlanTests {
    @Test("a partition cuts every link between the groups, both ways unless one way")
    func partition() {
        let both = FaultPlan.partition(["node1", "node2"], ["node3"], oneway: false, mode: .drop, expiresAt: nil)
        #expect(
            Set(both.map { "\($0.from)>\($0.to)" }) == ["node1>node3", "node3>node1", "node2>node3", "node3>node2"])
        let one = FaultPlan.partition(["node1"], ["node2", "node1"], oneway: true, mode: .reject, expiresAt: 5)
        #expect(one == [FaultRule(from: "node1", to: "node2", mode: .reject, expiresAt: 5)])
    }

    @Test("slow delays both directions of every link of the node; a new rule replaces its twin")
    func slowAndMerge() {
        let rules = FaultPlan.slow(
            "node2", others: ["node1", "node2", "node3"], delayMs: 500, jitterMs: 50, expiresAt: nil)
        #expect(rules.count == 4 && rules.allSatisfy { $0.mode == .delay && $0.delayMs == 500 })
        let faster = FaultPlan.slow(
            "node2", others: ["node1", "node2", "node3"], delayMs: 100, jitterMs: 0, expiresAt: nil)
        let merged = FaultPlan.merge(rules + [FaultRule(from: "node1", to: "node3", mode: .drop)], faster)
        #expect(merged.count == 5 && merged.filter { $0.mode == .delay }.allSatisfy { $0.delayMs == 100 })
    }

    @Test(
        "delays parse with or without a jitter",
        arguments: [
            ("500ms", 500, 0), ("500", 500, 0), ("1s", 1000, 0), ("500ms±50ms", 500, 50), ("200ms+-20ms", 200, 20),
        ])
    func delays(text: String, delay: Int64, jitter: Int64) {
        let parsed = FaultPlan.parseDelay(text)
        #expect(parsed?.delay == delay && parsed?.jitter == jitter)
    }

    @Test(
        "nonsense delays are refused",
        arguments: ["", "fast", "500ms±", "100ms±200ms", "-5", "1±2±3", "9223372036854775807±1", "2h"])
    func badDelays(text: String) {
        #expect(FaultPlan.parseDelay(text) == nil)
    }
}

@Suite("process records")
struct ProcessRecordTests {
    @Test("a process whose command line reads empty (between posix_spawn and the end of execve) is still ours")
    func emptyCommandLine() throws {
        // kthreadd (pid 2) has an empty command line and a start time, as a node has for a moment at start.
        let ticks = try #require(ProcessControl.stat(pid: 2)?.startTicks)
        #expect(ProcessControl.commandLine(pid: 2).isEmpty)
        #expect(
            ProcessControl.state(of: ProcessRecord(pid: 2, startTicks: ticks), marker: "/no/such/config") != .stopped)
    }

    @Test("a pid whose command line names another program, or whose start time differs, is not ours")
    func otherProgram() throws {
        let me = getpid()
        let ticks = try #require(ProcessControl.stat(pid: me)?.startTicks)
        #expect(
            ProcessControl.state(of: ProcessRecord(pid: me, startTicks: ticks), marker: "/no/such/config") == .stopped)
        #expect(ProcessControl.state(of: ProcessRecord(pid: me, startTicks: ticks + 1), marker: "") == .stopped)
    }
}
