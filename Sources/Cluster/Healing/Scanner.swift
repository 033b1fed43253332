import Core
import Loop
import Storage

/// The background pass over everything this node holds: each object's shard is read back and checked
/// (a bad one is `bitrot_detected` and healed from the others), and each object is checked across the
/// cluster (a node that lacks it is healed). Throttled to `Limits` so that serving comes first; a
/// pass asked for by `devcluster heal` runs flat out. Loop-bound; driven by `tick`.
public final class Scanner {
    public struct Limits: Sendable, Equatable {
        /// Shard bytes read per second, and objects per second, by a throttled pass.
        public var bytesPerSecond: Int64 = 64 << 20
        public var objectsPerSecond: Int64 = 200
        /// From the end of one pass to the start of the next.
        public var interval: Duration = .seconds(300)
        /// The scanner waits while the heal queue is longer than this.
        public var healBacklogMax = 64
        public init() {}
    }

    public struct Pass: Sendable, Equatable {
        public var number: Int
        public var unthrottled: Bool
        public var objects: Int64 = 0
        public var bytes: Int64 = 0
        public var bad: Int64 = 0
        public var finished = false
    }

    let layer: ObjectLayer
    let local: LocalStore
    let healer: Healer
    let limits: Limits
    let emit: (Event) -> Void
    var me: NodeID { local.id }
    /// The pass running, or the last one.
    public private(set) var pass: Pass?
    private var buckets: [String] = []
    private var bucketIndex = 0
    private var marker = ""
    /// Every version of the keys of the page being scanned.
    private var page: ArraySlice<(key: String, version: ObjectVersion)> = []
    private var pageBucket = ""
    private var busy = false
    private var nextPass: Instant
    /// Throttle: the time the work done so far has earned.
    private var budgetUntil: Instant

    public init(
        layer: ObjectLayer, local: LocalStore, healer: Healer, limits: Limits = .init(),
        emit: @escaping (Event) -> Void
    ) {
        self.layer = layer
        self.local = local
        self.healer = healer
        self.limits = limits
        self.emit = emit
        nextPass = layer.loop.iterationTime + limits.interval
        budgetUntil = layer.loop.iterationTime
    }

    /// Starts a pass now (`devcluster heal`), unless one runs; returns its number.
    @discardableResult
    public func startPass(unthrottled: Bool) -> Int {
        if let pass, !pass.finished {
            if unthrottled { self.pass?.unthrottled = true }
            return pass.number
        }
        let number = (pass?.number ?? 0) + 1
        pass = Pass(number: number, unthrottled: unthrottled)
        buckets = []
        bucketIndex = 0
        marker = ""
        page = []
        busy = true
        local.listBuckets { [self] result in
            busy = false
            buckets = ((try? result.get()) ?? []).map(\.name)
        }
        return number
    }

    public func tick(now: Instant, paused: Bool) {
        if pass == nil || pass?.finished == true {
            if now >= nextPass && !paused { startPass(unthrottled: false) }
            return
        }
        guard !busy, !paused, healer.stats.queued <= limits.healBacklogMax else { return }
        if pass?.unthrottled == false && now < budgetUntil { return }
        if budgetUntil < now { budgetUntil = now }
        if let entry = page.popFirst() { return scan(entry) }
        nextPage()
    }

    private func nextPage() {
        guard bucketIndex < buckets.count else {
            pass?.finished = true
            nextPass = layer.loop.iterationTime + limits.interval
            return
        }
        busy = true
        let bucket = buckets[bucketIndex]
        local.listVersions(bucket: bucket, prefix: "", from: marker, inclusive: false, delimiter: nil, limit: 256) {
            [self] result in
            busy = false
            pageBucket = bucket
            guard case .success(let listed) = result else {
                bucketIndex += 1
                marker = ""
                return
            }
            page = listed.entries.flatMap { e in (e.versions ?? [e.version]).map { (e.key, $0) } }[...]
            if listed.isTruncated, let m = listed.nextMarker {
                marker = m
            } else {
                bucketIndex += 1
                marker = ""
            }
        }
    }

    private func scan(_ entry: (key: String, version: ObjectVersion)) {
        let bucket = pageBucket
        busy = true
        local.checkShard(bucket: bucket, key: entry.key, version: entry.version) { [self] result in
            busy = false
            let now = layer.loop.iterationTime
            pass?.objects += 1
            var request = HealRequest(bucket: bucket, key: entry.key)
            request.versionID = entry.version.versionID
            if case .success(let check) = result {
                pass?.bytes += check.bytes
                // Earn the time this work costs at the throttled rates.
                let seconds = max(
                    Double(check.bytes) / Double(limits.bytesPerSecond), 1 / Double(limits.objectsPerSecond))
                budgetUntil = budgetUntil + .nanoseconds(Int64(seconds * 1e9))
                if check.status != .ok {
                    pass?.bad += 1
                    request.corrupt = [me]
                    emit(
                        Event(
                            source: me.rawValue, kind: .bitrotDetected,
                            fields: [
                                ("bucket", .string(bucket)), ("key", .string(entry.key)),
                                ("shardNode", .string(me.rawValue)), ("problem", .string(check.status.rawValue)),
                                ("detail", .string(check.detail ?? "")), ("by", .string("scanner")),
                            ]))
                }
            }
            healer.enqueue(request, reason: "scanner", now: now)
        }
    }
}
