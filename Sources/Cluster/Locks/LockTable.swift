import Core

/// One node's share of the distributed write locks: which owner holds which resource (an object),
/// until when. A lock is granted by a quorum of nodes' tables; each grant expires unless refreshed,
/// so a holder that died blocks a key for at most `ttl`. Pure: the time is an argument.
public struct LockTable: Sendable, Equatable {
    public struct Grant: Sendable, Equatable {
        public var owner: String
        public var expires: Instant
    }

    /// Resources locked at once, at most (past it, new grants are refused: the caller backs off).
    public static let resourcesMax = 100_000
    public private(set) var grants: [String: Grant] = [:]

    public init() {}

    /// Grants `resource` to `owner` until `now + ttl` if it is free, expired, or already `owner`'s.
    public mutating func acquire(_ resource: String, owner: String, now: Instant, ttl: Duration) -> Bool {
        if let g = grants[resource], g.owner != owner, g.expires > now { return false }
        if grants[resource] == nil && grants.count >= LockTable.resourcesMax {
            expire(now: now)
            guard grants.count < LockTable.resourcesMax else { return false }
        }
        grants[resource] = Grant(owner: owner, expires: now + ttl)
        return true
    }

    /// Extends `owner`'s grant; false when it is no longer theirs (it expired and went to another).
    public mutating func refresh(_ resource: String, owner: String, now: Instant, ttl: Duration) -> Bool {
        guard let g = grants[resource], g.owner == owner else { return false }
        grants[resource] = Grant(owner: owner, expires: now + ttl)
        return true
    }

    public mutating func release(_ resource: String, owner: String) {
        if grants[resource]?.owner == owner { grants[resource] = nil }
    }

    /// Forgets expired grants.
    public mutating func expire(now: Instant) {
        grants = grants.filter { $0.value.expires > now }
    }
}
