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
        var copies: [NodeID: ObjectVersion] = [:]
        var notFound = 0
        var noBucket = 0
        for (node, answer) in answers {
            switch answer {
            case .success(let metadata):
                let chosen = versionID.map { id in metadata.versions.first { $0.versionID == id } } ?? metadata.latest
                if let chosen { copies[node] = chosen } else { notFound += 1 }
            case .failure(.storage(.objectNotFound)), .failure(.storage(.versionNotFound)): notFound += 1
            case .failure(.storage(.bucketNotFound)): noBucket += 1
            case .failure: break
            }
        }
        // Group the copies by write, newest first; the newest write a read quorum holds is the object.
        var groups: [(version: ObjectVersion, holders: [NodeID: ObjectVersion])] = []
        for (node, copy) in copies {
            if let i = groups.firstIndex(where: { $0.version.sameWrite(as: copy) }) {
                groups[i].holders[node] = copy
            } else {
                groups.append((copy, [node: copy]))
            }
        }
        groups.sort {
            $0.version.modTime != $1.version.modTime
                ? $0.version.modTime > $1.version.modTime : $0.version.versionID > $1.version.versionID
        }
        if let best = groups.first(where: { $0.holders.count >= set.readQuorum }) {
            return .found(best.version, holders: best.holders)
        }
        if noBucket >= set.readQuorum { return .noSuchBucket }
        // Not found by enough nodes that no quorum-held version can hide among the others.
        if notFound + noBucket >= set.readQuorum && copies.count < set.readQuorum { return .notFound }
        return .unavailable(answered: copies.count + notFound + noBucket, needed: set.readQuorum)
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
