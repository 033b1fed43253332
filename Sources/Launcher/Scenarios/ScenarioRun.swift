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
        public var seconds: Double

        public struct Command: Sendable, Equatable {
            public var line: String
            public var output: String
        }
    }

    /// A command's output kept for the narration (its tail: where an error is).
    static let outputBytesMax = 16 << 10
    /// How often `verify` and `event` steps look again.
    static let retryInterval: Duration = .milliseconds(300)
    /// Events this long before the previous step began still count (clocks of the logs' writers).
    static let eventSlack: Duration = .seconds(1)

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
    private var stepStarted = WallTime.now()
    private var previousStarted = WallTime.now()
    private let cancelled = Atomic<Bool>(false)

    public init(home: ClusterHome, environment: [String: String], executable: String, basePort: Int) {
        self.home = home
        self.environment = environment.merging(["NO_COLOR": "1"]) { _, new in new }
        self.executable = executable
        self.basePort = basePort
    }

    /// Makes a step in progress give up at its next look (the console stopping).
    public func cancel() { cancelled.store(true, ordering: .relaxed) }
    /// Cancelled, or (in `devcluster scenario`) asked to stop by a signal.
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) || ForegroundCommand.interruption != nil }

    /// A launcher for this run's cluster (made per use: a `Launcher` is not shared across threads).
    var launcher: Launcher {
        Launcher(home: home, environment: environment, executable: executable, say: { _ in })
    }

    public func perform(_ step: Scenario.Step) -> StepResult {
        if case .say = step.action { return StepResult(ok: true, summary: "", commands: [], seconds: 0) }
        previousStarted = stepStarted
        stepStarted = WallTime.now()
        let began = Instant.now()
        var result: StepResult
        do throws(StepFailure) {
            result = try outcome(step.action)
        } catch {
            result = StepResult(ok: false, summary: error.summary, commands: error.commands, seconds: 0)
        }
        result.seconds = Double(Instant.now().since(began).nanoseconds) / 1e9
        return result
    }

    struct StepFailure: Error {
        var summary: String
        var commands: [StepResult.Command] = []
    }

    private func outcome(_ action: Scenario.Action) throws(StepFailure) -> StepResult {
        switch action {
        case .say: return StepResult(ok: true, summary: "", commands: [], seconds: 0)
        case .run(let arguments, let mustSucceed):
            let (status, command) = devcluster(arguments)
            guard status == 0 || !mustSucceed else {
                throw StepFailure(summary: "exited \(status)", commands: [command])
            }
            return StepResult(ok: true, summary: firstLine(command.output), commands: [command], seconds: 0)
        case .expect(let condition, let seenBy, let within):
            var arguments = ["wait-for", condition, "--within", DurationText.format(within)]
            if let seenBy { arguments += ["--seen-by", seenBy] }
            let (status, command) = devcluster(arguments)
            guard status == 0 else { throw StepFailure(summary: firstLine(command.output), commands: [command]) }
            return StepResult(ok: true, summary: firstLine(command.output), commands: [command], seconds: 0)
        case .verify(let within):
            let deadline = Instant.now() + within
            while true {
                let (status, command) = devcluster(["verify"])
                if status == 0 {
                    return StepResult(ok: true, summary: firstLine(command.output), commands: [command], seconds: 0)
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
            outputBytesMax: ScenarioRun.outputBytesMax)
        return (status, StepResult.Command(line: (["devcluster"] + given).joined(separator: " "), output: output))
    }

    private func awaitEvent(
        _ kind: EventKind, _ relation: Scenario.EventRelation, _ node: String, within: Duration
    ) throws(StepFailure) -> StepResult {
        let deadline = Instant.now() + within
        let since = previousStarted.millisecondsSinceEpoch - ScenarioRun.eventSlack.milliseconds
        guard let record = try? home.load() else { throw StepFailure(summary: "no cluster: run devcluster up first") }
        var cursors =
            [Timeline.Cursor(path: home.eventsPath)] + record.nodes.map { Timeline.Cursor(path: home.logPath($0.id)) }
        while true {
            for i in cursors.indices {
                for e in cursors[i].readEvents() where e.kind == kind && e.time.millisecondsSinceEpoch >= since {
                    let subject =
                        relation == .from ? e.source : (e["peer"] ?? e["shardNode"])?.stringValue
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
