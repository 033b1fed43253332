import Storage

/// The quorum decisions of the object layer, as pure functions of what each node answered.
public enum Quorum {
    /// What a set of metadata answers says an object is.
    public enum Resolution: Equatable, Sendable {
        /// The newest version that at least `readQuorum` nodes hold, and each holder's copy of it.
        case found(ObjectVersion, holders: [NodeID: ObjectVersion])
        /// At least a quorum says there is no such object (or no such version).
        case notFound
        /// Too few answers to tell either way.
        case unavailable(answered: Int, needed: Int)
        case noSuchBucket
    }

    /// Resolves an object (or, with `versionID`, one version of it) from every node's answer.
    public static func resolve(
        _ answers: [NodeID: Result<ObjectMetadata, StoreError>], set: ErasureSet, versionID: String? = nil
    ) -> Resolution {
        let seen = Seen(answers, versionID: versionID)
        if let best = seen.groups.first(where: { $0.holders.count >= set.readQuorum }) {
            return .found(best.version, holders: best.holders)
        }
        if seen.noBucket >= set.readQuorum { return .noSuchBucket }
        // Not found by enough nodes that no quorum-held version can hide among the others.
        if seen.notFound + seen.noBucket >= set.readQuorum && seen.copies < set.readQuorum { return .notFound }
        return .unavailable(answered: seen.copies + seen.notFound + seen.noBucket, needed: set.readQuorum)
    }

    /// How many nodes a read asks first: enough that every write quorum and every delete quorum meets
    /// them (so the newest acknowledged change is among their answers), and at least k (so they can
    /// hold the shards to read). When their answers agree (`resolveEarly`), the others are not asked.
    public static func firstReaders(set: ErasureSet) -> Int {
        min(
            set.nodes,
            max(set.nodes - set.writeQuorum + 1, set.nodes - set.metadataQuorum + 1, set.readQuorum))
    }

    /// The resolution of the answers of a read's first nodes (`firstReaders` of them, every one
    /// answered) when it is certain without the others, nil when the others must be asked: they all
    /// hold the same newest write (no acknowledged change can be newer: it would be among them, and
    /// they are a read quorum); or none has the object (or the bucket) and they are so many that the
    /// others are fewer than a read quorum (so that a delete that failed its quorum, which is not taken
    /// back, is decided as `resolve` would decide it with every answer).
    public static func resolveEarly(
        _ answers: [NodeID: Result<ObjectMetadata, StoreError>], set: ErasureSet, versionID: String? = nil
    ) -> Resolution? {
        guard answers.count >= firstReaders(set: set) else { return nil }
        let seen = Seen(answers, versionID: versionID)
        if let newest = seen.groups.first {
            return newest.holders.count == answers.count ? .found(newest.version, holders: newest.holders) : nil
        }
        guard answers.count > set.nodes - set.readQuorum else { return nil }
        if seen.noBucket == answers.count { return .noSuchBucket }
        if seen.notFound == answers.count { return .notFound }
        return nil
    }

    /// What a set of metadata answers holds: the copies grouped by write, newest first, and how many
    /// said there is no such object (or version) or bucket.
    struct Seen {
        var groups: [(version: ObjectVersion, holders: [NodeID: ObjectVersion])] = []
        var copies = 0
        var notFound = 0
        var noBucket = 0

        init(_ answers: [NodeID: Result<ObjectMetadata, StoreError>], versionID: String?) {
            for (node, answer) in answers {
                switch answer {
                case .success(let metadata):
                    let chosen =
                        versionID.map { id in metadata.versions.first { $0.versionID == id } } ?? metadata.latest
                    guard let copy = chosen else {
                        notFound += 1
                        continue
                    }
                    copies += 1
                    if let i = groups.firstIndex(where: { $0.version.sameWrite(as: copy) }) {
                        groups[i].holders[node] = copy
                        // Of copies of one write, the one whose attributes (tags ...) changed last speaks.
                        if copy.attributesTime > groups[i].version.attributesTime { groups[i].version = copy }
                    } else {
                        groups.append((copy, [node: copy]))
                    }
                case .failure(.storage(.objectNotFound)), .failure(.storage(.versionNotFound)): notFound += 1
                case .failure(.storage(.bucketNotFound)): noBucket += 1
                case .failure: break
                }
            }
            groups.sort {
                $0.version.modTime != $1.version.modTime
                    ? $0.version.modTime > $1.version.modTime : $0.version.versionID > $1.version.versionID
            }
        }
    }

    /// Whether a bucket exists, from every node's answer.
    public enum BucketAnswer: Equatable, Sendable {
        case exists(BucketInfo)
        case missing
        case unavailable
    }

    public static func bucket(_ answers: [NodeID: Result<BucketInfo, StoreError>], set: ErasureSet) -> BucketAnswer {
        let found = answers.values.compactMap { try? $0.get() }
        let missing = answers.values.count {
            if case .failure(.storage(.bucketNotFound)) = $0 { return true }
            return false
        }
        if found.count >= set.readQuorum, var info = found.min(by: { $0.created < $1.created }) {
            // A node that missed a versioning change is outvoted.
            var states: [String?: Int] = [:]
            for f in found { states[f.versioning, default: 0] += 1 }
            info.versioning = states.max { ($0.value, $0.key ?? "") < ($1.value, $1.key ?? "") }?.key ?? nil
            // Each setting as last changed.
            info.settings = found.reduce(BucketSettings()) { $0.merged(with: $1.settings) }
            return .exists(info)
        }
        if missing >= set.readQuorum && found.count < set.readQuorum { return .missing }
        return .unavailable
    }

    /// Merges the listing pages of several nodes into one: a key is listed when at least `readQuorum`
    /// answering nodes list it (so a stale copy on one node neither resurrects a delete nor hides an
    /// object); nothing is returned past the end of the shortest truncated page, where another node's
    /// page could be missing keys.
    public static func mergeListings(_ pages: [ListPage], readQuorum: Int, limit: Int) -> ListPage {
        var boundary: String?
        for page in pages where page.isTruncated {
            if let next = page.nextMarker, boundary.map({ keyPrecedes(next, $0) }) ?? true { boundary = next }
        }
        var keyCounts: [String: (count: Int, version: ObjectVersion)] = [:]
        var prefixCounts: [String: Int] = [:]
        for page in pages {
            for entry in page.entries {
                if let seen = keyCounts[entry.key] {
                    let newer = entry.version.modTime > seen.version.modTime
                    keyCounts[entry.key] = (seen.count + 1, newer ? entry.version : seen.version)
                } else {
                    keyCounts[entry.key] = (1, entry.version)
                }
            }
            for prefix in page.prefixes { prefixCounts[prefix, default: 0] += 1 }
        }
        var items: [(key: String, entry: ListEntry?)] = []
        for (key, seen) in keyCounts where seen.count >= readQuorum {
            items.append((key, ListEntry(key: key, version: seen.version)))
        }
        // A common prefix needs one object under it held by a quorum; prefix counts are per node, so the
        // same rule applies to them.
        for (prefix, count) in prefixCounts where count >= readQuorum { items.append((prefix, nil)) }
        items.sort { keyPrecedes($0.key, $1.key) }
        if let boundary { items.removeAll { keyPrecedes(boundary, $0.key) } }
        var out = ListPage()
        for item in items.prefix(limit) {
            if let entry = item.entry { out.entries.append(entry) } else { out.prefixes.append(item.key) }
            out.nextMarker = item.key
        }
        out.isTruncated = items.count > limit || boundary != nil
        if out.isTruncated && out.nextMarker == nil { out.nextMarker = boundary }
        return out
    }
}
