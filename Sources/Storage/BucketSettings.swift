/// A bucket setting as a node records it: the value (nil once removed) and when it was set (ms), so
/// that of several copies (nodes that missed a change, a node rebuilt) the newest wins.
public struct Stamped<Value: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    public var value: Value?
    public var changed: Int64

    public init(_ value: Value?, changed: Int64) {
        self.value = value
        self.changed = changed
    }

    /// The newer of two copies (either may be missing).
    static func newer(_ a: Stamped?, _ b: Stamped?) -> Stamped? {
        guard let a else { return b }
        guard let b else { return a }
        return b.changed > a.changed ? b : a
    }
}

/// A bucket's configurations besides versioning, each set and removed by its own S3 calls and kept
/// with when it changed. A change is sent as settings holding only what changed, and merged into
/// each node's copy; a reader merges the copies of a quorum the same way.
public struct BucketSettings: Codable, Equatable, Sendable {
    public var cors: Stamped<[CORSRule]>?
    public var policy: Stamped<BucketPolicy>?
    public var lifecycle: Stamped<[LifecycleRule]>?
    public var objectLock: Stamped<ObjectLockConfiguration>?
    public var notifications: Stamped<[NotificationRule]>?
    public var tags: Stamped<[String: String]>?

    public init() {}

    /// Each setting from whichever side changed it last.
    public func merged(with other: BucketSettings) -> BucketSettings {
        var out = BucketSettings()
        out.cors = .newer(cors, other.cors)
        out.policy = .newer(policy, other.policy)
        out.lifecycle = .newer(lifecycle, other.lifecycle)
        out.objectLock = .newer(objectLock, other.objectLock)
        out.notifications = .newer(notifications, other.notifications)
        out.tags = .newer(tags, other.tags)
        return out
    }

    /// The newest time any setting changed (a new change is stamped after it).
    public var lastChanged: Int64 {
        [
            cors?.changed, policy?.changed, lifecycle?.changed, objectLock?.changed, notifications?.changed,
            tags?.changed,
        ]
        .compactMap { $0 }.max() ?? 0
    }
}
