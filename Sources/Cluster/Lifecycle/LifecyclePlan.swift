import Storage

/// What a bucket's lifecycle rules do to one key's versions, or to an incomplete upload, at a given
/// time: S3's Expiration (days or date), expired delete marker removal, NoncurrentVersionExpiration
/// (keeping the newest few) and AbortIncompleteMultipartUpload. A day lasts `day` (shorter in tests).
/// Pure.
public enum LifecyclePlan {
    public enum Action: Equatable, Sendable {
        /// The current version expires: it is deleted as a DELETE without a version id deletes it (a
        /// delete marker in a versioned bucket).
        case expire(key: String)
        /// One version goes for good (a noncurrent one, or an expired delete marker).
        case remove(key: String, versionID: String, why: Reason)
    }

    public enum Reason: String, Sendable {
        case noncurrent
        case expiredDeleteMarker
    }

    public static let dayMilliseconds: Int64 = 86_400_000

    /// The actions on `key`, whose versions are `versions` (newest first), at `now` (ms).
    public static func actions(
        key: String, versions: [ObjectVersion], rules: [LifecycleRule], now: Int64, day: Int64 = dayMilliseconds
    ) -> [Action] {
        guard let current = versions.first else { return [] }
        var out: [Action] = []
        let live = rules.filter(\.enabled)
        if current.isDeleteMarker {
            if versions.count == 1, live.contains(where: { $0.expiredDeleteMarkers && selects($0, key, current) }) {
                out.append(.remove(key: key, versionID: current.versionID, why: .expiredDeleteMarker))
            }
        } else if live.contains(where: { selects($0, key, current) && expires($0, current, now: now, day: day) }) {
            out.append(.expire(key: key))
        }
        // A noncurrent version is noncurrent since the version above it was written.
        var removed: Set<String> = []
        for rule in live {
            guard let days = rule.noncurrentDays else { continue }
            for i in versions.indices.dropFirst() {
                let version = versions[i]
                let newerNoncurrent = i - 1
                guard selects(rule, key, version), newerNoncurrent >= (rule.newerNoncurrentVersions ?? 0),
                    versions[i - 1].modTime + Int64(days) * day <= now, !removed.contains(version.versionID)
                else { continue }
                removed.insert(version.versionID)
                out.append(.remove(key: key, versionID: version.versionID, why: .noncurrent))
            }
        }
        return out
    }

    /// Whether an upload begun at `initiated` (ms) is aborted by the rules at `now`.
    public static func aborts(
        key: String, initiated: Int64, rules: [LifecycleRule], now: Int64, day: Int64 = dayMilliseconds
    ) -> Bool {
        rules.contains { rule in
            guard rule.enabled, let days = rule.abortIncompleteUploadDays, key.hasPrefix(rule.prefix) else {
                return false
            }
            return initiated + Int64(days) * day <= now
        }
    }

    /// Whether the rule's filter selects this version of `key` (prefix, tags, size bounds).
    static func selects(_ rule: LifecycleRule, _ key: String, _ version: ObjectVersion) -> Bool {
        guard key.hasPrefix(rule.prefix) else { return false }
        guard rule.tags.allSatisfy({ version.tags[$0.key] == $0.value }) else { return false }
        if let greater = rule.sizeGreaterThan, !(version.size > greater) { return false }
        if let less = rule.sizeLessThan, !(version.size < less) { return false }
        return true
    }

    static func expires(_ rule: LifecycleRule, _ version: ObjectVersion, now: Int64, day: Int64) -> Bool {
        if let date = rule.expirationDate, now >= date { return true }
        if let days = rule.expirationDays, version.modTime + Int64(days) * day <= now { return true }
        return false
    }
}
