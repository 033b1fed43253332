import Admin
import Cluster
import Core

#if canImport(Glibc)
import Glibc
#endif

/// Applies and undoes the nemesis's faults on a running cluster through the launcher (the same paths
/// as `devcluster kill`, `pause`, `partition`, `slow`, `disk-full` and `corrupt`), and waits for the
/// cluster to recover after each round. Every choice comes from `NemesisPlan`. Runs on the calling
/// thread; every call blocks.
final class Nemesis {
    /// A recovery that takes longer than this is reported and the run goes on (the final checks judge).
    static let recoveryTimeout: Duration = .seconds(60)
    /// Rules a crashed chaos run leaves behind end by themselves this long after their hold.
    static let ruleSafetyMargin: Duration = .seconds(60)
    static let pollInterval: Duration = .milliseconds(250)
    /// Waits are slept in slices this long, so an interrupt (Ctrl-C) is seen soon.
    static let sleepSlice: Duration = .milliseconds(100)

    let launcher: Launcher
    let bucket: String
    let keys: [ChaosKey]
    let start: Instant
    let say: (String) -> Void
    private var g: SeededGenerator
    private(set) var applied: [ChaosFault: Int] = [:]
    private(set) var slowRecoveries = 0
    /// Nodes that exited without being killed: a crash is an anomaly whatever the data says.
    private(set) var crashes: [String] = []
    /// Nodes the nemesis killed and could not start again (not crashes; started at the next chance).
    private var leftDown: Set<String> = []

    private struct Active {
        var step: ChaosStep
        var rules: [FaultRule] = []
    }

    init(
        launcher: Launcher, bucket: String, keys: [ChaosKey], seed: UInt64, start: Instant,
        say: @escaping (String) -> Void
    ) {
        self.launcher = launcher
        self.bucket = bucket
        self.keys = keys
        self.start = start
        self.say = say
        g = SeededGenerator(seed: seed ^ 0x6E_656D_6573_6973)
    }

    /// Ctrl-C: no new fault; the ones in force end at once, then the run heals and checks as usual.
    var wasInterrupted: Bool { chaosInterrupted.load(ordering: .relaxed) }

    private func log(_ text: String) {
        say("  [\(DurationText.format(Instant.now().since(start)).leftPadded(6))] \(text)")
    }

    /// Rounds of faults until `deadline` (a round under way is finished: its faults end on time).
    func run(until deadline: Instant, nodes: [String], parity: Int, faults: [ChaosFault], progress: () -> String) {
        while Instant.now() < deadline && !wasInterrupted {
            let steps = NemesisPlan.round(nodes: nodes, parity: parity, faults: faults, using: &g)
            guard !steps.isEmpty else { return }
            runRound(steps)
            let began = Instant.now()
            if recover(passes: [:]) {
                log("recovered after \(DurationText.format(Instant.now().since(began))); \(progress())")
            }
            sleep(NemesisPlan.gap(using: &g))
        }
    }

    private func runRound(_ steps: [ChaosStep]) {
        let roundStart = Instant.now()
        var events: [(at: Int64, step: Int, starts: Bool)] = []
        for (i, s) in steps.enumerated() {
            events.append((s.startMs, i, true))
            events.append((s.startMs + s.holdMs, i, false))
        }
        events.sort { $0.at < $1.at }
        var active: [Int: Active] = [:]
        var passes: [String: Int] = [:]
        for event in events {
            // Interrupted: no new fault, and the ones in force end now.
            if event.starts && wasInterrupted { continue }
            sleep(.milliseconds(event.at) - Instant.now().since(roundStart))
            if event.starts {
                active[event.step] = apply(steps[event.step])
            } else if let a = active.removeValue(forKey: event.step) {
                if let p = undo(a) { passes.merge(p) { max($0, $1) } }
            }
        }
        if !passes.isEmpty {
            let began = Instant.now()
            if recover(passes: passes) { log("healed after \(DurationText.format(Instant.now().since(began)))") }
        }
    }

    // MARK: Faults

    private func apply(_ step: ChaosStep) -> Active? {
        let nodes = step.nodes
        let names = nodes.joined(separator: ",")
        let hold = DurationText.format(.milliseconds(step.holdMs))
        var active = Active(step: step)
        do throws(LauncherError) {
            let all = try launcher.home.load().nodes.map(\.id)
            let others = all.filter { !nodes.contains($0) }
            let expiresAt =
                WallTime.now().millisecondsSinceEpoch + step.holdMs + Nemesis.ruleSafetyMargin.milliseconds
            switch step.fault {
            case .kill:
                try changeRecord { launcher, record throws(LauncherError) in
                    _ = launcher.stop(nodes, in: &record, signal: SIGKILL, timeout: .seconds(5))
                }
                log("kill \(names) for \(hold)")
            case .pause:
                _ = launcher.pause(nodes, in: try launcher.home.load(), resume: false)
                log("pause \(names) for \(hold)")
            case .isolate, .split:
                let mode: FaultRule.Mode = step.refuses ? .reject : .drop
                active.rules = FaultPlan.partition(nodes, others, oneway: false, mode: mode, expiresAt: expiresAt)
                log("cut \(names) off from \(others.joined(separator: ",")) (\(mode.rawValue)) for \(hold)")
            case .slow:
                active.rules = nodes.flatMap {
                    FaultPlan.slow(
                        $0, others: all, delayMs: step.delayMs, jitterMs: step.delayMs / 4, expiresAt: expiresAt)
                }
                log("slow \(names) by \(step.delayMs)ms±\(step.delayMs / 4)ms for \(hold)")
            case .diskFull:
                active.rules = nodes.map { FaultRule(from: $0, to: $0, mode: .diskFull, expiresAt: expiresAt) }
                log("fill the disk of \(names) for \(hold)")
            case .corrupt:
                let large = keys.filter(\.isLarge)
                guard !large.isEmpty else { return nil }
                let key = large[step.keyPick % large.count]
                do {
                    let c = try launcher.corrupt(
                        try launcher.home.load(), node: nodes[0], bucket: bucket, key: key.name, shard: nil)
                    log("corrupt shard \(c.shard) of \(key.name) on \(c.node)")
                } catch {
                    log("corrupt: no \(key.name) on \(nodes[0]) to corrupt")
                    return nil
                }
            }
            if !active.rules.isEmpty { _ = try launcher.changeFaults { $0 += active.rules } }
            applied[step.fault, default: 0] += 1
            return active
        } catch {
            log("could not apply \(step.fault.rawValue) on \(names): \(error.description)")
            return nil
        }
    }

    /// Ends a fault; for bitrot, which stays until something heals it, starts a full heal pass and
    /// returns each node's pass number (waited for before the next round).
    private func undo(_ a: Active) -> [String: Int]? {
        let names = a.step.nodes.joined(separator: ",")
        do throws(LauncherError) {
            switch a.step.fault {
            case .kill:
                leftDown.formUnion(a.step.nodes)
                try changeRecord { launcher, record throws(LauncherError) in
                    try launcher.spawn(a.step.nodes, in: &record)
                }
                leftDown.subtract(a.step.nodes)
                log("start \(names)")
            case .pause:
                let record = try launcher.home.load()
                _ = launcher.pause(a.step.nodes, in: record, resume: true)
                // A paused node missed every fault change meanwhile.
                _ = launcher.pushFaults(try launcher.wantedFaults(), record)
                log("resume \(names)")
            case .isolate, .split, .slow, .diskFull:
                let rules = a.rules
                _ = try launcher.changeFaults { table in
                    for rule in rules { if let i = table.firstIndex(of: rule) { table.remove(at: i) } }
                }
                log("end \(a.step.fault.rawValue) of \(names)")
            case .corrupt:
                return launcher.startHeal(try launcher.home.load())
            }
        } catch {
            log("could not undo \(a.step.fault.rawValue) on \(names): \(error.description)")
        }
        return nil
    }

    /// Loads the cluster record under the home's lock, lets `change` act on it, and saves it.
    private func changeRecord(
        _ change: (Launcher, inout ClusterRecord) throws(LauncherError) -> Void
    ) throws(LauncherError) {
        try launcher.home.withLock { () throws(LauncherError) in
            var record = try launcher.home.load()
            try change(launcher, &record)
            try launcher.home.save(record)
        }
    }

    /// Ends whatever a broken run may have left: every fault rule, stopped and paused nodes.
    func restoreEverything() {
        do throws(LauncherError) {
            _ = try launcher.changeFaults { $0 = [] }
            try changeRecord { launcher, record throws(LauncherError) in
                let ids = record.nodes.map(\.id)
                let paused = ids.filter { launcher.processState(record, $0) == .paused }
                let stopped = ids.filter { launcher.processState(record, $0) == .stopped }
                if !paused.isEmpty { _ = launcher.pause(paused, in: record, resume: true) }
                if !stopped.isEmpty { try launcher.spawn(stopped, in: &record) }
            }
        } catch {
            log("could not restore the cluster: \(error.description)")
        }
    }

    /// Waits until every node runs, sees every other online and has nothing left to heal (its pass
    /// past `passes[node]`, if given). False (and said) after `recoveryTimeout`. Called with no fault
    /// in force: a node found not running crashed (unless the nemesis could not start it again); it
    /// is noted once and started.
    @discardableResult
    func recover(passes: [String: Int]) -> Bool {
        let deadline = Instant.now() + Nemesis.recoveryTimeout
        var restarted: Set<String> = []
        while true {
            guard let record = try? launcher.home.load() else { return false }
            let down = record.nodes.map(\.id).filter {
                launcher.processState(record, $0) == .stopped && !restarted.contains($0)
            }
            if !down.isEmpty {
                restart(down)
                restarted.formUnion(down)
            }
            let snapshot = launcher.snapshot(record)
            let ids = record.nodes.map(\.id)
            let online = snapshot.nodes.allSatisfy { n in
                n.process == .running && ids.allSatisfy { $0 == n.id || n.status?.view[$0] == .online }
            }
            if online && Launcher.healSettled(snapshot, passes: passes) { return true }
            if Instant.now() >= deadline {
                slowRecoveries += 1
                log("not recovered after \(DurationText.format(Nemesis.recoveryTimeout)): going on")
                return false
            }
            sleep(Nemesis.pollInterval, interruptible: false)
        }
    }

    /// Starts nodes found stopped; those the nemesis did not leave down crashed (noted with the last
    /// error in their log).
    private func restart(_ ids: [String]) {
        for id in ids where !leftDown.contains(id) {
            let last = launcher.logTail(id, lines: 200).last {
                $0.contains("Fatal error") || $0.contains("\"level\":\"error\"")
            }
            crashes.append("\(id) exited on its own: \(last ?? "no error in its log")")
            log("\(id) CRASHED: \(last ?? "see its log") (log: \(launcher.home.logPath(id)))")
        }
        do throws(LauncherError) {
            try changeRecord { launcher, record throws(LauncherError) in try launcher.spawn(ids, in: &record) }
            leftDown.subtract(ids)
        } catch {
            log("could not start \(ids.joined(separator: ",")) again: \(error.description)")
        }
    }

    private func sleep(_ d: Duration, interruptible: Bool = true) {
        let until = Instant.now() + d
        while Instant.now() < until && !(interruptible && wasInterrupted) {
            let left = until.since(Instant.now())
            usleep(useconds_t(max(1, min(left, Nemesis.sleepSlice).milliseconds) * 1000))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
