import Core
import Loop
import Storage

extension EventKind {
    /// The lifecycle rules removed something: `bucket`, `key`, `action`, and `versionId` or `uploadId`.
    public static let lifecycleApplied = EventKind("lifecycle_applied")
    /// A lifecycle pass ended, with what it did.
    public static let lifecyclePassDone = EventKind("lifecycle_pass_done")
}

/// Applies the buckets' lifecycle rules: a pass lists every version of every bucket that has rules
/// and does what `LifecyclePlan` decides, at most `actionsPerSecond`, through the object layer (so
/// object lock still holds: a refused removal is counted, not forced). One node runs the periodic
/// passes (the caller says which); any node runs one asked for (`devcluster lifecycle run`), which can
/// be "as of" a later time so tests need not wait days. Loop-bound; driven by `tick`.
public final class LifecycleRunner {
    public struct Limits: Sendable, Equatable {
        public var interval: Duration = .seconds(3600)
        public var actionsPerSecond = 100
        public init() {}
    }

    /// What a pass did.
    public struct Pass: Codable, Sendable, Equatable {
        public var number: Int
        /// The time the rules were judged at (ms; later than now when asked for).
        public var asOf: Int64
        public var unthrottled: Bool
        public var expired = 0
        public var noncurrentRemoved = 0
        public var deleteMarkersRemoved = 0
        public var uploadsAborted = 0
        /// Removals object lock (or a failure) stopped.
        public var refused = 0
        public var finished = false
    }

    let layer: ObjectLayer
    let me: NodeID
    let limits: Limits
    let emit: (Event) -> Void
    /// Whether this node runs the periodic passes.
    let leads: () -> Bool
    public private(set) var pass: Pass?
    private var nextPass: Instant
    private var budgetUntil: Instant

    public init(
        layer: ObjectLayer, me: NodeID, limits: Limits = .init(), leads: @escaping () -> Bool,
        emit: @escaping (Event) -> Void
    ) {
        self.layer = layer
        self.me = me
        self.limits = limits
        self.leads = leads
        self.emit = emit
        nextPass = layer.loop.iterationTime + limits.interval
        budgetUntil = layer.loop.iterationTime
    }

    public func tick(now: Instant) {
        guard pass?.finished ?? true, now >= nextPass else { return }
        nextPass = now + limits.interval
        if leads() { start(asOf: .now(), unthrottled: false) }
    }

    /// Starts a pass judged at `asOf`, unless one runs; returns its number.
    @discardableResult
    public func start(asOf: WallTime, unthrottled: Bool) -> Int {
        if let pass, !pass.finished { return pass.number }
        let number = (pass?.number ?? 0) + 1
        pass = Pass(number: number, asOf: asOf.millisecondsSinceEpoch, unthrottled: unthrottled)
        layer.listBuckets { [self] result in
            let buckets = ((try? result.get()) ?? []).compactMap { b -> (name: String, rules: [LifecycleRule])? in
                b.settings.lifecycle?.value.map { (b.name, $0) }
            }
            nextBucket(buckets[...])
        }
        return number
    }

    private func nextBucket(_ buckets: ArraySlice<(name: String, rules: [LifecycleRule])>) {
        guard let (bucket, rules) = buckets.first else { return finish() }
        let rest = buckets.dropFirst()
        versions(bucket, rules, keyMarker: "", versionMarker: "", carry: []) { [self] in
            uploads(bucket, rules) { [self] in nextBucket(rest) }
        }
    }

    /// One page of versions after the markers; `carry`: versions of a key the last page ended inside.
    private func versions(
        _ bucket: String, _ rules: [LifecycleRule], keyMarker: String, versionMarker: String,
        carry: [VersionEntry], then: @escaping () -> Void
    ) {
        layer.listVersions(
            bucket: bucket, prefix: "", keyMarker: keyMarker, versionIDMarker: versionMarker, delimiter: nil,
            limit: 1000
        ) { [self] result in
            guard case .success(let page) = result else { return then() }
            var groups: [(key: String, versions: [ObjectVersion])] = []
            for entry in carry + page.entries {
                if groups.last?.key == entry.key {
                    groups[groups.count - 1].versions.append(entry.version)
                } else {
                    groups.append((entry.key, [entry.version]))
                }
            }
            var held: [VersionEntry] = []
            if page.isTruncated, let last = groups.popLast() {
                held = last.versions.map { VersionEntry(key: last.key, version: $0, isLatest: false) }
            }
            let asOf = pass?.asOf ?? WallTime.now().millisecondsSinceEpoch
            let actions = groups.flatMap {
                LifecyclePlan.actions(key: $0.key, versions: $0.versions, rules: rules, now: asOf)
            }
            perform(bucket, actions[...]) { [self] in
                guard page.isTruncated, let key = page.nextKeyMarker else { return then() }
                versions(
                    bucket, rules, keyMarker: key, versionMarker: page.nextVersionIDMarker ?? "", carry: held,
                    then: then)
            }
        }
    }

    private func uploads(_ bucket: String, _ rules: [LifecycleRule], then: @escaping () -> Void) {
        guard rules.contains(where: { $0.abortIncompleteUploadDays != nil }) else { return then() }
        layer.listMultipartUploads(bucket: bucket) { [self] result in
            let asOf = pass?.asOf ?? WallTime.now().millisecondsSinceEpoch
            var due = ((try? result.get()) ?? []).filter {
                LifecyclePlan.aborts(key: $0.key, initiated: $0.initiated, rules: rules, now: asOf)
            }[...]
            func next() {
                guard let upload = due.popFirst() else { return then() }
                paced { [self] in
                    layer.abortMultipartUpload(bucket: bucket, key: upload.key, uploadID: upload.uploadID) {
                        [self] result in
                        if case .success = result {
                            pass?.uploadsAborted += 1
                            applied(bucket, upload.key, "abort_upload", ("uploadId", upload.uploadID))
                        } else {
                            pass?.refused += 1
                        }
                        next()
                    }
                }
            }
            next()
        }
    }

    private func perform(
        _ bucket: String, _ actions: ArraySlice<LifecyclePlan.Action>, then: @escaping () -> Void
    ) {
        guard let action = actions.first else { return then() }
        let rest = actions.dropFirst()
        paced { [self] in
            switch action {
            case .expire(let key):
                layer.deleteObject(bucket: bucket, key: key) { [self] result in
                    if case .success(let outcome) = result {
                        pass?.expired += 1
                        applied(bucket, key, "expire", ("versionId", outcome.versionID ?? VersionID.null))
                    } else {
                        pass?.refused += 1
                    }
                    perform(bucket, rest, then: then)
                }
            case .remove(let key, let versionID, let why):
                layer.deleteObject(bucket: bucket, key: key, versionID: versionID) { [self] result in
                    if case .success = result {
                        if why == .noncurrent { pass?.noncurrentRemoved += 1 } else { pass?.deleteMarkersRemoved += 1 }
                        applied(bucket, key, why.rawValue, ("versionId", versionID))
                    } else {
                        pass?.refused += 1
                    }
                    perform(bucket, rest, then: then)
                }
            }
        }
    }

    /// Runs `work` when the rate allows (at once for a pass asked for).
    private func paced(_ work: @escaping () -> Void) {
        let now = layer.loop.iterationTime
        if pass?.unthrottled == true { return work() }
        if budgetUntil < now { budgetUntil = now }
        let wait = budgetUntil.since(now)
        budgetUntil = budgetUntil + .nanoseconds(1_000_000_000 / Int64(max(1, limits.actionsPerSecond)))
        if wait <= .zero { return work() }
        do throws(UVError) {
            try Timer.once(layer.loop, wait, label: "lifecycle pacing", work)
        } catch {
            // Pacing only spreads the work out: unpaced beats never.
            work()
        }
    }

    private func applied(_ bucket: String, _ key: String, _ action: String, _ id: (String, String)) {
        emit(
            Event(
                source: me.rawValue, kind: .lifecycleApplied,
                fields: [
                    ("bucket", .string(bucket)), ("key", .string(key)), ("action", .string(action)),
                    (id.0, .string(id.1)),
                ]))
    }

    private func finish() {
        guard var done = pass else { return }
        done.finished = true
        pass = done
        nextPass = layer.loop.iterationTime + limits.interval
        emit(
            Event(
                source: me.rawValue, kind: .lifecyclePassDone,
                fields: [
                    ("pass", .int(Int64(done.number))), ("expired", .int(Int64(done.expired))),
                    ("noncurrentRemoved", .int(Int64(done.noncurrentRemoved))),
                    ("deleteMarkersRemoved", .int(Int64(done.deleteMarkersRemoved))),
                    ("uploadsAborted", .int(Int64(done.uploadsAborted))), ("refused", .int(Int64(done.refused))),
                ]))
    }
}
