import Storage

/// What healing one object takes, decided from what every node answered about it. Pure.
public enum HealPlan {
    public enum Action: Equatable, Sendable {
        /// Every node that answered holds the object as a quorum does (or nobody has it).
        case nothing
        /// Write `version`'s shard to `targets`, rebuilt from the good shards of `sources`.
        case rebuild(version: ObjectVersion, sources: [NodeID: ObjectVersion], targets: [NodeID])
        /// Every node holds the version, but `targets` hold older attributes (tags, retention, legal
        /// hold) than `version`'s: give them those.
        case attributes(version: ObjectVersion, targets: [NodeID])
        /// The object is gone by quorum: remove the copies `targets` still hold (by version id).
        case remove(targets: [NodeID: String])
        /// Fewer than k good shards of the version are left: nothing can rebuild it now.
        case unrecoverable(version: ObjectVersion, good: Int, needed: Int)
        /// Too few nodes answered to tell what the object is.
        case undecided
    }

    /// How old a copy that no quorum holds must be before it is removed: younger ones may belong to a
    /// write still committing (removing one of its first commits could cost it its quorum).
    public static let strayAgeMin: Int64 = 10 * 60 * 1000

    /// - `corrupt`: nodes whose shard of the object failed its checksum (they are rebuilt, never read).
    /// - `healing`: nodes being rebuilt from empty: their silence about an object proves nothing.
    /// - `removedBefore`: a delete at that time (ms) was missed: copies from before it go at once.
    /// - `now`: the wall clock (ms), to age stray copies.
    /// - `versionID`: the version to heal (nil: the latest).
    public static func plan(
        _ answers: [NodeID: Result<ObjectMetadata, StoreError>], set: ErasureSet, versionID: String? = nil,
        corrupt: Set<NodeID> = [], healing: Set<NodeID> = [], removedBefore: Int64? = nil, now: Int64
    ) -> Action {
        let trusted = answers.filter { !healing.contains($0.key) }
        // Nodes whose answer is definite can be healed; unreachable ones are left for later.
        let reachable = answers.filter { $0.value.isDefinite }.map(\.key)
        switch Quorum.resolve(trusted, set: set, versionID: versionID) {
        case .found(let version, let holders):
            let sources = holders.filter { !corrupt.contains($0.key) }
            let targets = reachable.filter { holders[$0] == nil || corrupt.contains($0) }.sorted()
            guard !targets.isEmpty else {
                // The version's copy is the one whose attributes changed last (`Quorum.resolve`).
                let stale = sources.filter { $0.value.attributesTime < version.attributesTime }.map(\.key).sorted()
                return stale.isEmpty ? .nothing : .attributes(version: version, targets: stale)
            }
            let needed = version.erasure?.dataShards ?? 1
            guard sources.count >= needed else {
                return .unrecoverable(version: version, good: sources.count, needed: needed)
            }
            return .rebuild(version: version, sources: sources, targets: targets)
        case .notFound, .noSuchBucket:
            var targets: [NodeID: String] = [:]
            for (node, answer) in answers {
                guard case .success(let metadata) = answer,
                    let copy = versionID.map({ id in metadata.versions.first { $0.versionID == id } })
                        ?? metadata.latest
                else { continue }
                let limit = removedBefore ?? (now - strayAgeMin)
                if copy.modTime <= limit { targets[node] = copy.versionID }
            }
            return targets.isEmpty ? .nothing : .remove(targets: targets)
        case .unavailable:
            return .undecided
        }
    }
}
