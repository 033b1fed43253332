import ArgumentParser
import Core
import Launcher

extension DevCluster {
    struct Chaos: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove nothing acknowledged is lost: S3 clients under random faults, then a history check.",
            discussion: """
                devcluster chaos                          # 60 s, a random seed (printed)
                devcluster chaos --duration 10m --seed 42 # the same faults as an earlier run with that seed
                devcluster chaos --faults kill,partition  # only some faults (kill, pause, isolate, split,
                                                          # partition = isolate+split, slow, corrupt, disk-full)
                Clients PUT, GET, DELETE and overwrite self-verifying bodies (key, write and SHA-256 inside)
                through every node while a nemesis breaks at most 'parity' nodes at a time. Then every fault
                is ended, the cluster healed and verified, and every key read through every node. Exit 1 on
                any anomaly: a lost acknowledged write, a stale or phantom read, wrong bytes, a key unreadable
                after the heal, or an object not fully redundant. Needs 'faults: on' (devcluster's default).
                """)

        @OptionGroup var cluster: ClusterOptions

        @Option(name: .long, help: ArgumentHelp("How long the nemesis runs.", valueName: "duration"))
        var duration: String = "60s"

        @Option(
            name: .long,
            help:
                "Seed of the random choices (default: random, printed): the same seed makes the same faults in the same order; timings differ."
        )
        var seed: UInt64?

        @Option(name: .long, help: ArgumentHelp("Faults to use (default: all).", valueName: "list"))
        var faults: String = "all"

        @Option(name: .long, help: "Concurrent S3 clients.")
        var clients: Int = 6

        func run() throws {
            var options = ChaosOptions(seed: seed ?? ChaosOptions.randomSeed())
            options.duration = try parseDuration(duration, option: "--duration")
            guard let kinds = NemesisPlan.parseFaults(faults) else {
                throw ValidationError(
                    "--faults: '\(faults)': name some of \(ChaosFault.allCases.map(\.rawValue).joined(separator: ", ")), partition, all"
                )
            }
            guard (1...ChaosOptions.clientsMax).contains(clients) else {
                throw ValidationError("--clients: 1 to \(ChaosOptions.clientsMax)")
            }
            options.faults = kinds
            options.clients = clients
            let launcher = try cluster.launcher()
            let summary = try launching { () throws(LauncherError) in try launcher.chaos(options) }
            report(summary)
            if !summary.passed { throw ExitCode(1) }
        }

        private func report(_ s: ChaosSummary) {
            let broken = s.anomalies.filter(\.breaksPromise)
            let dirty = s.anomalies.filter { !$0.breaksPromise }
            let applied = ChaosFault.allCases.compactMap { f in s.faults[f].map { "\(f.rawValue) \($0)" } }
            say(
                """
                chaos summary (seed \(s.seed), \(DurationText.format(s.elapsed))):
                  operations: \(s.operations) (\(s.writes) writes, \(s.acknowledgedWrites) acknowledged; \(s.reads) reads; \(s.failedOperations) failed or refused)
                  faults:     \(applied.isEmpty ? "none" : applied.joined(separator: ", "))\(s.slowRecoveries > 0 ? "; \(s.slowRecoveries) slow recoveries" : "")
                  verify:     \(s.verify.isClean ? "clean" : "NOT clean"): \(s.verify.fullyRedundant)/\(s.verify.objects) objects fully redundant
                  crashes:    \(s.crashes.count)\(s.interrupted ? "\n  interrupted (Ctrl-C): the checks ran on what was done" : "")
                  anomalies:  \(broken.count)\(kinds(broken))
                """)
            if !dirty.isEmpty {
                say(
                    "  dirty reads: \(dirty.count) (a failed write was read, then undone: allowed by S3, not linearizable; not a failure)"
                )
            }
            for c in s.crashes { say("    crash: \(c)") }
            for p in s.verify.problems.prefix(20) {
                say("    verify: \(p.object): \(p.kind) \(p.node ?? "") \(p.detail)")
            }
            for (node, why) in s.verify.unchecked.sorted(by: { $0.key < $1.key }) {
                say("    verify: \(node) unchecked: \(why)")
            }
            let listed = broken + dirty
            for a in listed.prefix(50) { say("    \(a.description)") }
            if listed.count > 50 { say("    ... \(listed.count - 50) more") }
            say(
                s.passed
                    ? "chaos: PASSED (bucket \(s.bucket) kept for a look)"
                    : "chaos: FAILED: replay with 'devcluster chaos --seed \(s.seed) --duration \(duration)"
                        + (faults == "all" ? "" : " --faults \(faults)") + "' (bucket \(s.bucket))")
        }

        private func kinds(_ anomalies: [ChaosHistory.Anomaly]) -> String {
            guard !anomalies.isEmpty else { return "" }
            let counts = Dictionary(grouping: anomalies, by: \.kind.rawValue).mapValues(\.count)
            return " (" + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                + ")"
        }
    }
}
