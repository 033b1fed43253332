import Core
import Loop
import Storage

/// Rebuilds this node's data folder when it starts empty in a cluster that holds data (a wiped or
/// replaced disk): it first decides whether the cluster is new (every peer empty too) or not, then
/// counts what the peers hold, then heals every object onto this node, bucket by bucket, saving its
/// progress (`HealingState`) so a kill halfway resumes there. Until it is done the node is a write
/// target but never a source of good data. Loop-bound; driven by `tick`.
public final class Rebuilder {
    public enum Phase: String, Sendable {
        /// The folder was empty at start: is the cluster new, or did this node lose its data?
        case deciding
        case counting
        case rebuilding
        case whole
    }

    public struct Progress: Sendable, Equatable {
        public var phase: Phase
        public var objectsDone: Int64
        public var objectsTotal: Int64
        public var bytesDone: Int64
        public var bytesTotal: Int64
        public var bytesPerSecond: Double
        /// Nil until a rate is known.
        public var etaSeconds: Double?
    }

    /// Objects healed at once, and listed per page.
    static let jobsMax = 8
    static let pageSize = 256
    static let progressInterval: Duration = .seconds(1)

    let layer: ObjectLayer
    let local: LocalStore
    var me: NodeID { local.id }
    let log: Logger
    let emit: (Event) -> Void
    public private(set) var phase: Phase
    private var state: HealingState?
    private var busy = false
    private var nextAttempt: Instant?
    private var runStart: (time: Instant, bytes: Int64)?
    private var lastProgressEvent: Instant?
    /// When this start formatted the folder (nil: it held data, or the node was told the cluster is new).
    private let formattedAt: WallTime?
    /// How far behind this one's another host's clock may run when it stamps a bucket it makes. Kept
    /// small: a bucket misjudged as older than the folder costs a needless rebuild; one misjudged as
    /// younger (a peer's clock ahead by more than this, and a disk lost within that long of the
    /// bucket's making) is healed by the scanner instead of the rebuild.
    static let clockSkewAllowance: Duration = .milliseconds(500)
    /// How soon a decision is tried again while peers are still starting (nodes started together).
    static let decideRetry: Duration = .milliseconds(200)

    /// `formattedAt`: the folder was formatted at this start, then (and the node was not told the
    /// cluster is new). `saved`: a rebuild a previous run left unfinished.
    public init(
        layer: ObjectLayer, local: LocalStore, formattedAt: WallTime?, saved: HealingState?, log: Logger,
        emit: @escaping (Event) -> Void
    ) {
        self.layer = layer
        self.local = local
        self.log = log
        self.emit = emit
        self.formattedAt = formattedAt
        state = saved
        phase = saved.map { $0.counted ? .rebuilding : .counting } ?? (formattedAt == nil ? .whole : .deciding)
    }

    /// Not yet a source of good data.
    public var isHealing: Bool { phase != .whole }

    public func progress(now: Instant) -> Progress? {
        guard let state, phase == .counting || phase == .rebuilding else {
            return phase == .deciding
                ? Progress(
                    phase: phase, objectsDone: 0, objectsTotal: 0, bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0,
                    etaSeconds: nil)
                : nil
        }
        var rate = 0.0
        if let start = runStart, now.since(start.time) > .milliseconds(200) {
            rate = Double(state.bytesDone - start.bytes) / now.since(start.time).seconds
        }
        let left = max(0, state.bytesTotal - state.bytesDone)
        return Progress(
            phase: phase, objectsDone: state.objectsDone, objectsTotal: state.objectsTotal, bytesDone: state.bytesDone,
            bytesTotal: state.bytesTotal, bytesPerSecond: rate,
            etaSeconds: rate > 0 ? Double(left) / rate : (phase == .rebuilding && left == 0 ? 0 : nil))
    }

    public func tick(now: Instant) {
        guard !busy, phase != .whole, nextAttempt.map({ now >= $0 }) ?? true else { return }
        busy = true
        switch phase {
        case .deciding: decide()
        case .counting: count()
        case .rebuilding: rebuildNextPage()
        case .whole: busy = false
        }
    }

    /// Waits a moment before trying again (peers not reachable yet, a page that failed).
    private func later(_ why: String, after wait: Duration = .seconds(1)) {
        busy = false
        nextAttempt = layer.loop.iterationTime + wait
        log.debug("rebuild waits", [("phase", .string(phase.rawValue)), ("why", .string(why))])
    }

    // MARK: Deciding

    /// A bucket exists on at least N/2 + 1 nodes, so at least N/2 of the others hold it: peers that
    /// all say "no buckets", enough of them that one would have to be a holder, mean a new cluster.
    private func decide() {
        let peers = layer.stores.filter { $0.id != me && layer.isReachable($0.id) }
        let emptyNeeded = layer.set.nodes - layer.set.metadataQuorum + 1
        guard !peers.isEmpty || layer.set.nodes == 1 else {
            return later("no peer reachable yet", after: Rebuilder.decideRetry)
        }
        var answers: [[BucketInfo]] = []
        var waiting = peers.count
        if waiting == 0 { return concluded(holding: 0, empty: 0, needed: emptyNeeded) }
        for peer in peers {
            peer.listBuckets { [self] result in
                if case .success(let buckets) = result { answers.append(buckets) }
                waiting -= 1
                if waiting == 0 { weigh(answers, needed: emptyNeeded) }
            }
        }
    }

    /// A peer holds data this node lost when it holds a bucket older than this folder. Nodes started
    /// together with empty folders (a deployment started by hand, without `--new-cluster`) take a
    /// first bucket made while they decide: it is younger than their folders. Whether this node holds
    /// a bucket itself says nothing: a wiped node gets its buckets back from the peers' replay of the
    /// writes it missed, before it has decided, and must still rebuild everything else.
    private func weigh(_ answers: [[BucketInfo]], needed: Int) {
        guard let formattedAt else { return later("no folder of this start to weigh against") }
        let before = formattedAt.millisecondsSinceEpoch - Rebuilder.clockSkewAllowance.milliseconds
        let holding = answers.count { $0.contains { $0.created < before } }
        concluded(holding: holding, empty: answers.count - holding, needed: needed)
    }

    private func concluded(holding: Int, empty: Int, needed: Int) {
        if holding > 0 {
            let saved = HealingState(started: WallTime.now().millisecondsSinceEpoch)
            save(saved) { [self] in
                state = saved
                phase = .counting
                log.info("this node's data folder is empty but its peers hold data: rebuilding it from them")
                busy = false
            }
        } else if empty >= needed || layer.set.nodes == 1 {
            phase = .whole
            busy = false
            log.info("the cluster is new: nothing to rebuild")
        } else {
            later("\(empty) of the \(needed) peers needed to tell a new cluster answered", after: Rebuilder.decideRetry)
        }
    }

    // MARK: Counting

    private func count() {
        guard var state else { return }
        layer.listBuckets { [self] result in
            guard case .success(let buckets) = result else { return later("buckets unreadable") }
            state.buckets = buckets.map(\.name)
            // The buckets first, so that objects can land in them.
            var waiting = buckets.count
            guard waiting > 0 else { return counted(state) }
            for bucket in buckets {
                local.makeBucket(bucket) { [self] _ in
                    waiting -= 1
                    if waiting == 0 { countObjects(state, bucket: 0, marker: "") }
                }
            }
        }
    }

    private func countObjects(_ state: HealingState, bucket index: Int, marker: String, versionMarker: String = "") {
        guard index < state.buckets.count else { return counted(state) }
        layer.listVersions(
            bucket: state.buckets[index], prefix: "", keyMarker: marker, versionIDMarker: versionMarker, delimiter: nil,
            limit: 1000
        ) { [self] result in
            guard case .success(let page) = result else { return later("a listing failed") }
            var next = state
            next.objectsTotal += Int64(page.entries.count)
            next.bytesTotal += page.entries.reduce(0) { $0 + $1.version.size }
            if page.isTruncated, let m = page.nextKeyMarker {
                countObjects(next, bucket: index, marker: m, versionMarker: page.nextVersionIDMarker ?? "")
            } else {
                countObjects(next, bucket: index + 1, marker: "")
            }
        }
    }

    private func counted(_ counted: HealingState) {
        var s = counted
        s.counted = true
        save(s) { [self] in
            state = s
            phase = .rebuilding
            busy = false
            emit(
                Event(
                    source: me.rawValue, kind: .healStarted,
                    fields: [
                        ("objectsTotal", .int(s.objectsTotal)), ("bytesTotal", .int(s.bytesTotal)),
                        ("buckets", .int(Int64(s.buckets.count))),
                    ]))
        }
    }

    // MARK: Rebuilding

    private func rebuildNextPage() {
        guard let state else { return }
        if runStart == nil { runStart = (layer.loop.iterationTime, state.bytesDone) }
        guard state.bucketIndex < state.buckets.count else { return finish() }
        let bucket = state.buckets[state.bucketIndex]
        layer.listVersions(
            bucket: bucket, prefix: "", keyMarker: state.marker, versionIDMarker: state.versionMarker ?? "",
            delimiter: nil, limit: Rebuilder.pageSize
        ) { [self] result in
            guard case .success(let page) = result else { return later("a listing failed") }
            heal(page.entries[...], bucket: bucket) { [self] in
                guard var s = self.state else { return }
                if page.isTruncated, let m = page.nextKeyMarker {
                    s.marker = m
                    s.versionMarker = page.nextVersionIDMarker
                } else {
                    s.bucketIndex += 1
                    s.marker = ""
                    s.versionMarker = nil
                }
                save(s) { [self] in
                    self.state = s
                    busy = false
                    reportProgress()
                }
            }
        }
    }

    /// Heals the versions of a page onto this node, `jobsMax` at a time.
    private func heal(_ entries: ArraySlice<VersionEntry>, bucket: String, then: @escaping () -> Void) {
        var rest = entries
        var running = 0
        func next() {
            while running < Rebuilder.jobsMax, let entry = rest.popFirst() {
                running += 1
                var request = HealRequest(bucket: bucket, key: entry.key)
                request.versionID = entry.version.versionID
                request.only = [me]
                layer.healObject(request) { [self] result in
                    running -= 1
                    switch result {
                    case .success(.healthy), .success(.rebuilt), .success(.removed):
                        state?.objectsDone += 1
                        state?.bytesDone += entry.version.size
                    default:
                        state?.objectsFailed += 1
                        log.warn(
                            "rebuild could not heal an object (the scanner retries it)",
                            [("bucket", .string(bucket)), ("key", .string(entry.key)), ("why", .string("\(result)"))])
                    }
                    reportProgress()
                    if rest.isEmpty && running == 0 { then() } else { next() }
                }
            }
            if rest.isEmpty && running == 0 { then() }
        }
        next()
    }

    private func reportProgress() {
        let now = layer.loop.iterationTime
        guard lastProgressEvent.map({ now.since($0) >= Rebuilder.progressInterval }) ?? true,
            let p = progress(now: now)
        else { return }
        lastProgressEvent = now
        emit(Event(source: me.rawValue, kind: .healProgress, fields: Rebuilder.fields(p)))
    }

    static func fields(_ p: Progress) -> [(String, JSONValue)] {
        var f: [(String, JSONValue)] = [
            ("objectsDone", .int(p.objectsDone)), ("objectsTotal", .int(p.objectsTotal)),
            ("bytesDone", .int(p.bytesDone)), ("bytesTotal", .int(p.bytesTotal)),
            ("bytesPerSecond", .int(Int64(p.bytesPerSecond))),
        ]
        if let eta = p.etaSeconds { f.append(("etaMs", .int(Int64(eta * 1000)))) }
        return f
    }

    private func finish() {
        guard let state else { return }
        let seconds = runStart.map { layer.loop.iterationTime.since($0.time).seconds } ?? 0
        local.run({ disk throws(StorageError) in disk.clearHealingState() }) { [self] _ in
            phase = .whole
            busy = false
            self.state = nil
            emit(
                Event(
                    source: me.rawValue, kind: .healFinished,
                    fields: [
                        ("objects", .int(state.objectsDone)), ("bytes", .int(state.bytesDone)),
                        ("failed", .int(state.objectsFailed)), ("ms", .int(Int64(seconds * 1000))),
                    ]))
        }
    }

    private func save(_ state: HealingState, then: @escaping () -> Void) {
        local.run({ disk throws(StorageError) in try disk.writeHealingState(state) }) { [self] result in
            if case .failure(let e) = result { return later("cannot save progress: \(e)") }
            then()
        }
    }
}
