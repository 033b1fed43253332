import Admin
import Cluster
import Core
import HTTP
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `devcluster chaos`: S3 clients on self-verifying bodies while a nemesis breaks at most `parity`
/// nodes at a time; then everything is healed and the history is checked (ChaosHistory), the data
/// verified, and every key read back through every node.
public struct ChaosOptions: Sendable {
    public var duration: Duration = .seconds(60)
    public var seed: UInt64
    public var faults: [ChaosFault] = ChaosFault.allCases
    public var clients = 6
    public var smallKeys = 12
    public var largeKeys = 4

    public init(seed: UInt64) {
        self.seed = seed
    }
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
    public var passed: Bool { anomalies.isEmpty && crashes.isEmpty && verify.isClean }
}

extension Launcher {
    public func chaos(_ options: ChaosOptions) throws(LauncherError) -> ChaosSummary {
        let record = try home.load()
        try checkReadyForChaos(record)
        let start = Instant.now()
        let bucket = "chaos-\(String(options.seed, radix: 16))-\(Crypto.randomBytes(3).hexString)"
        let keys = ChaosKey.keys(small: options.smallKeys, large: options.largeKeys)
        let clientOptions = ChaosClients.Options(
            nodes: record.nodes.compactMap { n in HTTPEndpoint(url: n.endpoint).map { (n.id, $0) } },
            accessKey: record.accessKey, secretKey: record.secretKey, region: record.region, bucket: bucket,
            keys: keys, clients: options.clients, seed: options.seed)
        try ChaosClients.makeBucket(clientOptions)
        say(
            "chaos: seed \(options.seed), \(DurationText.format(options.duration)), \(options.clients) clients on "
                + "\(keys.count) keys of s3://\(bucket), faults: \(options.faults.map(\.rawValue).joined(separator: ","))"
        )

        let progress = ChaosClients.Progress()
        let outcome = Mutex<ChaosHistory?>(nil)
        let clients = BackgroundThread {
            guard let c = try? ChaosClients(options: clientOptions, progress: progress, start: start) else { return }
            c.run()
            outcome.withLock { $0 = c.history }
        }
        let nemesis = Nemesis(
            launcher: self, bucket: bucket, keys: keys, seed: options.seed, start: start, say: say)
        let parity: Int
        do {
            parity = try ErasureSet(nodes: record.nodes.count, parity: record.parity).parity
        } catch {
            throw .usage(error.description)
        }
        nemesis.run(
            until: start + options.duration, nodes: record.nodes.map(\.id), parity: parity, faults: options.faults
        ) {
            "\(progress.operations.load(ordering: .relaxed)) operations, "
                + "\(progress.acknowledged.load(ordering: .relaxed)) writes acknowledged, "
                + "\(progress.failed.load(ordering: .relaxed)) failed"
        }

        say("chaos: stopping the clients, healing everything")
        progress.stop.store(true, ordering: .relaxed)
        clients.join()
        nemesis.recover(passes: [:])
        nemesis.restoreEverything()
        nemesis.recover(passes: [:])
        let verify = verifyAfterHeal(nemesis)
        var history = outcome.withLock { $0 } ?? ChaosHistory()
        let finalReads = try ChaosClients.finalReads(clientOptions, start: start)
        for read in finalReads { history.record(read) }
        return ChaosSummary(
            bucket: bucket, seed: options.seed, elapsed: Instant.now().since(start),
            operations: progress.operations.load(ordering: .relaxed), acknowledgedWrites: history.acknowledgedWrites,
            writes: history.writes.count, reads: history.reads.count - finalReads.count,
            failedOperations: progress.failed.load(ordering: .relaxed), faults: nemesis.applied,
            slowRecoveries: nemesis.slowRecoveries, crashes: nemesis.crashes, anomalies: history.check(),
            verify: verify)
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

    /// A full heal, then `verify`; a second round if the first left anything (a scan that started
    /// before the last node was back).
    private func verifyAfterHeal(_ nemesis: Nemesis) -> VerifyReport {
        var report = VerifyReport.merge(nodes: [], reports: [:], unchecked: [:])
        for _ in 0..<3 {
            guard let record = try? home.load() else { break }
            nemesis.recover(passes: startHeal(record))
            report = verify(record)
            if report.isClean { break }
        }
        return report
    }
}

/// A POSIX thread running `body`; `join` waits for it to end.
final class BackgroundThread {
    private var thread = pthread_t()

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue().run()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create: \(rc)")
    }

    func join() {
        pthread_join(thread, nil)
    }
}
