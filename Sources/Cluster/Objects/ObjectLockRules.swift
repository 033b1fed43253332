import Core
import Storage

/// S3 object lock as decisions: what retention a new version gets, whether a version may be removed,
/// and whether its retention may change. A version under legal hold, or retained until a time still to
/// come, stays; GOVERNANCE retention gives way to a request that says it bypasses it. Pure.
public enum ObjectLockRules {
    /// The options of a write to `bucket`, with the bucket's default retention filled in; lock
    /// settings on a bucket without object lock are refused.
    public static func applying(
        _ options: PutOptions, bucket: BucketInfo, now: WallTime
    ) throws(ObjectError)
        -> PutOptions
    {
        let lock = bucket.settings.objectLock?.value
        guard lock?.enabled == true else {
            if options.retention != nil || options.legalHold {
                throw .invalidRequest("Bucket is missing Object Lock Configuration")
            }
            return options
        }
        var out = options
        if out.retention == nil, let rule = lock?.defaultRetention {
            out.retention = ObjectRetention(mode: rule.mode, until: until(rule, from: now))
        }
        return out
    }

    /// When a default retention period that starts at `now` ends (a year is 365 days, as in S3).
    static func until(_ rule: ObjectLockConfiguration.DefaultRetention, from now: WallTime) -> Int64 {
        let days = Int64(rule.days ?? 0) + Int64(rule.years ?? 0) * 365
        return now.millisecondsSinceEpoch + days * 86_400_000
    }

    /// Why `version` may not be removed at `now` (nil: it may).
    public static func deletion(of version: ObjectVersion, now: WallTime, bypassGovernance: Bool) -> ObjectError? {
        if version.legalHold { return .objectLocked("the version is under legal hold") }
        guard let retention = version.retention, retention.until > now.millisecondsSinceEpoch else { return nil }
        if retention.mode == .governance && bypassGovernance { return nil }
        return .objectLocked(
            "the version is retained (\(retention.mode.rawValue)) until \(WallTime(millisecondsSinceEpoch: retention.until).iso8601)"
        )
    }

    /// Why a version's retention may not change from `old` to `new` at `now` (nil: it may). Retention
    /// may always be lengthened; COMPLIANCE never shortened, removed or turned into GOVERNANCE;
    /// GOVERNANCE only when bypassing it.
    public static func retentionChange(
        from old: ObjectRetention?, to new: ObjectRetention?, now: WallTime, bypassGovernance: Bool
    ) -> ObjectError? {
        guard let old, old.until > now.millisecondsSinceEpoch else { return nil }
        let keeps = new.map { $0.until >= old.until && ($0.mode == old.mode || old.mode == .governance) } ?? false
        if keeps { return nil }
        if old.mode == .governance && bypassGovernance { return nil }
        return .objectLocked(
            old.mode == .compliance
                ? "a COMPLIANCE retention cannot be shortened, removed or changed before it ends"
                : "shortening or removing a GOVERNANCE retention needs x-amz-bypass-governance-retention: true")
    }
}
