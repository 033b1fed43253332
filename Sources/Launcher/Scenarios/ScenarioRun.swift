import Core
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Performs a scenario's steps against one cluster of a home, one step at a time: each blocks until
/// what it expects holds, or fails saying what did not. The commands are devcluster's own, run as
/// child processes (as a user would type them); objects go through S3 (`ScenarioObjects`). Used by
/// `devcluster scenario` and by the console, which never runs two steps of a run at once (hence
/// `@unchecked Sendable`: the state is touched by one step at a time, on whichever thread runs it).
public final class ScenarioRun: @unchecked Sendable {
    public struct StepResult: Sendable, Equatable {
        public var ok: Bool
        /// One line: what the step found.
        public var summary: String
        /// The commands the step ran, each with its output (what a narrated run shows).
        public var commands: [Command]
        public var took: Duration

        public struct Command: Sendable, Equatable {
            public var line: String
            public var output: String
        }

        init(ok: Bool, summary: String, commands: [Command] = [], took: Duration = .zero) {
            self.ok = ok
            self.summary = summary
            self.commands = commands
            self.took = took
        }
    }

    /// A command's output kept for the narration (its tail: where an error is).
    static let outputBytesMax = 16 << 10
    /// How often `verify` and `event` steps look again.
    static let retryInterval: Duration = .milliseconds(300)

    let home: ClusterHome
    let environment: [String: String]
    let executable: String
    /// `{port}` in a command.
    let basePort: Int
    /// Objects written so far (`bucket/key` and SHA-256), in the order written.
    var objects: [(name: String, digest: [UInt8])] = []
    /// `bucket/key` of the writes that had to be refused.
    var refused: [String] = []
    var random = SeededGenerator(seed: 1)
    /// The step under way (its line), and where the logs ended when it and the step before began:
    /// an `event` step looks from the step before on. A step tried again keeps its window.
    private var currentLine: Int?
    private var logsAtStep: [String: Int] = [:]
    private var logsAtPreviousStep: [String: Int] = [:]
    private let cancelled = Atomic<Bool>(false)
    /// A step is under way (steps never overlap: the console asks for one only when none runs).
    private let busy = Atomic<Bool>(false)
    /// The devcluster command running now, if any (what `cancel` ends).
    private let child = Mutex<Int32?>(nil)

    public init(home: ClusterHome, environment: [String: String], executable: String, basePort: Int) {
        self.home = home
        self.environment = environment.merging(["NO_COLOR": "1"]) { _, new in new }
        self.executable = executable
        self.basePort = basePort
    }

    /// Makes the step under way give up: its command is ended (SIGTERM) and its waits stop at their
    /// next look (the console stopping).
    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
        child.withLock { pid in
            if let pid { kill(pid, SIGTERM) }
        }
    }

    /// Cancelled, or (in `devcluster scenario`) asked to stop by a signal.
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) || ForegroundCommand.interruption != nil }

    /// A launcher for this run's cluster (made per use: a `Launcher` is not shared across threads).
    var launcher: Launcher {
        Launcher(home: home, environment: environment, executable: executable, say: { _ in })
    }

    public func perform(_ step: Scenario.Step) -> StepResult {
        precondition(
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged,
            "scenario steps run one at a time")
        defer { busy.store(false, ordering: .releasing) }
        guard !isCancelled else { return StepResult(ok: false, summary: "stopped") }
        if currentLine != step.line {
            currentLine = step.line
            logsAtPreviousStep = logsAtStep
            logsAtStep = logSizes()
        }
        let began = Instant.now()
        var result: StepResult
        do throws(StepFailure) {
            result = try outcome(step.action)
        } catch {
            result = StepResult(ok: false, summary: error.summary, commands: error.commands)
        }
        result.took = Instant.now().since(began)
        return result
    }

    struct StepFailure: Error {
        var summary: String
        var commands: [StepResult.Command] = []
    }

    private func outcome(_ action: Scenario.Action) throws(StepFailure) -> StepResult {
        switch action {
        case .say(let text): return StepResult(ok: true, summary: text)
        case .run(let arguments, let mustSucceed):
            let (status, command) = devcluster(arguments)
            guard status == 0 || !mustSucceed else {
                throw StepFailure(summary: "exited \(status)", commands: [command])
            }
            return StepResult(ok: true, summary: firstLine(command.output), commands: [command])
        case .expect(let condition, let seenBy, let within):
            var arguments = ["wait-for", condition, "--within", DurationText.format(within)]
            if let seenBy { arguments += ["--seen-by", seenBy] }
            let (status, command) = devcluster(arguments)
            guard status == 0 else { throw StepFailure(summary: firstLine(command.output), commands: [command]) }
            return StepResult(ok: true, summary: firstLine(command.output), commands: [command])
        case .verify(let within):
            let deadline = Instant.now() + within
            while true {
                let (status, command) = devcluster(["verify"])
                if status == 0 {
                    return StepResult(ok: true, summary: firstLine(command.output), commands: [command])
                }
                guard Instant.now() < deadline, !isCancelled else {
                    throw StepFailure(summary: firstLine(command.output), commands: [command])
                }
                sleep(ScenarioRun.retryInterval)
            }
        case .event(let kind, let relation, let node, let within):
            return try awaitEvent(kind, relation, node, within: within)
        case .write(let count, let sizes, let bucket, let prefix, let refused):
            return try write(count: count, sizes: sizes, bucket: bucket, prefix: prefix, refused: refused)
        case .checkObjects:
            return try checkObjects()
        case .read(let times, let node, let within):
            return try read(times: times, via: node, within: within)
        }
    }

    /// Runs `devcluster ARGS --home H --name N` to its end.
    public func devcluster(_ arguments: [String]) -> (Int32, StepResult.Command) {
        let given = arguments.map { $0.replacing("{port}", with: String(basePort)) }
        let (status, output) = ProcessControl.runToEnd(
            executable, given + ["--home", home.root, "--name", home.name], environment: environment,
            outputBytesMax: ScenarioRun.outputBytesMax
        ) { pid in
            child.withLock { $0 = pid }
            if pid != nil && cancelled.load(ordering: .relaxed) { cancel() }
        }
        return (status, StepResult.Command(line: (["devcluster"] + given).joined(separator: " "), output: output))
    }

    /// Where the cluster's log files (the launcher's events and each node's log) end now.
    private func logSizes() -> [String: Int] {
        guard let record = try? home.load() else { return [:] }
        var sizes: [String: Int] = [:]
        for path in [home.eventsPath] + record.nodes.map({ home.logPath($0.id) }) {
            var info = stat()
            if stat(path, &info) == 0 { sizes[path] = Int(info.st_size) }
        }
        return sizes
    }

    /// Waits for an event written since the step before this one began.
    private func awaitEvent(
        _ kind: EventKind, _ relation: Scenario.EventRelation, _ node: String, within: Duration
    ) throws(StepFailure) -> StepResult {
        let deadline = Instant.now() + within
        guard let record = try? home.load() else { throw StepFailure(summary: "no cluster: run devcluster up first") }
        var cursors = ([home.eventsPath] + record.nodes.map { home.logPath($0.id) }).map {
            Timeline.Cursor(path: $0, from: logsAtPreviousStep[$0] ?? 0)
        }
        while true {
            for i in cursors.indices {
                for e in cursors[i].readEvents() where e.kind == kind {
                    let subject = relation == .from ? e.source : (e["peer"] ?? e["shardNode"])?.stringValue
                    if subject == node {
                        return StepResult(ok: true, summary: "\(e.source) \(kind): \(Timeline.describe(e))")
                    }
                }
            }
            guard Instant.now() < deadline, !isCancelled else {
                throw StepFailure(summary: "no \(kind) \(relation) \(node) within \(DurationText.format(within))")
            }
            sleep(ScenarioRun.retryInterval)
        }
    }

    func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n").first ?? "").trimmingSpaces()
    }

    func sleep(_ duration: Duration) {
        usleep(UInt32(duration.nanoseconds / 1000))
    }
}
