import Admin
import Cluster
import Core
import HTTP
import Loop
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `devcluster chaos`: S3 clients on self-verifying bodies while a nemesis breaks at most `parity`
/// nodes at a time; then everything is healed and the history is checked (ChaosHistory), the data
/// verified, and every key read back through every node.
/// Set by the SIGINT handler while a chaos run is on (a C handler can reach only globals).
let chaosInterrupted = Atomic<Bool>(false)

public struct ChaosOptions: Sendable {
    public static let clientsMax = 64
    public var duration: Duration = .seconds(60)
    public var seed: UInt64
    public var faults: [ChaosFault] = ChaosFault.allCases
    public var clients = 6
    public var smallKeys = 12
    public var largeKeys = 4

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// A seed short enough to type back.
    public static func randomSeed() -> UInt64 { UInt64.random(in: 1...999_999) }
}

public struct ChaosSummary: Sendable {
    public var bucket: String
    public var seed: UInt64
    public var elapsed: Duration
    public var operations: Int
    public var acknowledgedWrites: Int
    public var writes: Int
    public var reads: Int
    public var failedOperations: Int
    public var faults: [ChaosFault: Int]
    public var slowRecoveries: Int
    /// Nodes that exited on their own during the run.
    public var crashes: [String]
    public var anomalies: [ChaosHistory.Anomaly]
    public var verify: VerifyReport
    /// Cut short by Ctrl-C (the checks ran on what was done).
    public var interrupted: Bool
    public var passed: Bool {
        !anomalies.contains(where: \.breaksPromise) && crashes.isEmpty && verify.isClean && !interrupted
    }
}

extension Launcher {
    public func chaos(_ options: ChaosOptions) throws(LauncherError) -> ChaosSummary {
        let record = try home.load()
        try checkReadyForChaos(record)
        let parity: Int
        do {
            parity = try ErasureSet(nodes: record.nodes.count, parity: record.parity).parity
        } catch {
            throw .usage(error.description)
        }
        let start = Instant.now()
        let bucket = "chaos-\(String(options.seed, radix: 16))-\(Crypto.randomBytes(3).hexString)"
        let keys = ChaosKey.keys(small: options.smallKeys, large: options.largeKeys)
        let clientOptions = ChaosClients.Options(
            nodes: record.nodes.compactMap { n in HTTPEndpoint(url: n.endpoint).map { (n.id, $0) } },
            accessKey: record.accessKey, secretKey: record.secretKey, region: record.region, bucket: bucket,
            keys: keys, clients: options.clients, seed: options.seed, tls: tls)
        try ChaosClients.makeBucket(clientOptions)
        say(
            "chaos: seed \(options.seed), \(DurationText.format(options.duration)), \(options.clients) clients on "
                + "\(keys.count) keys of s3://\(bucket), faults: \(options.faults.map(\.rawValue).joined(separator: ","))"
        )

        let progress = ChaosClients.Progress()
        let outcome = Mutex<Result<ChaosHistory, LauncherError>?>(nil)
        let clients = BackgroundThread {
            do throws(UVError) {
                let c = try ChaosClients(options: clientOptions, progress: progress, start: start)
                c.run()
                outcome.withLock { $0 = .success(c.history) }
            } catch {
                outcome.withLock { $0 = .failure(.io(path: "chaos clients", reason: error.description)) }
            }
        }
        let nemesis = Nemesis(
            launcher: self, bucket: bucket, keys: keys, seed: options.seed, start: start, say: say)
        chaosInterrupted.store(false, ordering: .relaxed)
        let previousHandler = signal(SIGINT) { _ in chaosInterrupted.store(true, ordering: .relaxed) }
        defer { signal(SIGINT, previousHandler) }
        nemesis.run(
            until: start + options.duration, nodes: record.nodes.map(\.id), parity: parity, faults: options.faults
        ) {
            "\(progress.operations.load(ordering: .relaxed)) operations, "
                + "\(progress.acknowledged.load(ordering: .relaxed)) writes acknowledged, "
                + "\(progress.failed.load(ordering: .relaxed)) failed"
        }

        say("chaos: \(nemesis.wasInterrupted ? "interrupted: " : "")stopping the clients, healing everything")
        progress.stop.store(true, ordering: .relaxed)
        clients.join()
        // A run whose clients did nothing proves nothing.
        var history = try (outcome.withLock { $0 } ?? .failure(.io(path: "chaos clients", reason: "no history"))).get()
        guard !history.writes.isEmpty else {
            nemesis.restoreEverything()
            throw .notReady("the chaos clients made no write: is the cluster serving S3? (see 'devcluster status')")
        }
        nemesis.recover(passes: [:])
        nemesis.restoreEverything()
        nemesis.recover(passes: [:])
        let verify = verifyAfterHeal(nemesis)
        let finalReads = try ChaosClients.finalReads(clientOptions, start: start)
        for read in finalReads { history.record(read) }
        return ChaosSummary(
            bucket: bucket, seed: options.seed, elapsed: Instant.now().since(start),
            operations: progress.operations.load(ordering: .relaxed), acknowledgedWrites: history.acknowledgedWrites,
            writes: history.writes.count, reads: history.reads.count - finalReads.count,
            failedOperations: progress.failed.load(ordering: .relaxed), faults: nemesis.applied,
            slowRecoveries: nemesis.slowRecoveries, crashes: nemesis.crashes, anomalies: history.check(),
            verify: verify, interrupted: nemesis.wasInterrupted)
    }

    /// Chaos needs every node up, healthy, with fault control on and no fault in force already.
    private func checkReadyForChaos(_ record: ClusterRecord) throws(LauncherError) {
        let snapshot = snapshot(record)
        guard snapshot.verdict == .healthy else {
            throw .usage("the cluster is not healthy (see 'devcluster status'): chaos starts from a healthy one")
        }
        guard try wantedFaults().active(at: .now()).isEmpty else {
            throw .usage("faults are in force: 'devcluster faults clear' first")
        }
        for (id, answer) in faultReports(record) {
            guard case .success(let report) = answer, report.enabled else {
                throw .usage("\(id) does not take injected faults ('faults: on' in its config): chaos needs them")
            }
        }
    }

    /// Heal-and-verify rounds at most, when one leaves something (a scan that began before the last
    /// node was back).
    static let chaosVerifyRounds = 3

    /// A full heal, then `verify`; again if it is not clean, up to `chaosVerifyRounds` times.
    private func verifyAfterHeal(_ nemesis: Nemesis) -> VerifyReport {
        var report = VerifyReport.merge(nodes: [], reports: [:], unchecked: [:])
        for _ in 0..<Launcher.chaosVerifyRounds {
            guard let record = try? home.load() else { break }
            nemesis.recover(passes: startHeal(record))
            report = verify(record)
            if report.isClean { break }
        }
        return report
    }
}
