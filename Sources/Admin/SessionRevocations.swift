import Core

/// The dashboard sessions logged out before they expired, by id, with when each would have expired (it
/// is forgotten then: an expired token is refused anyway). Every node keeps the list, hears of a
/// revocation from the node that logged it out, catches up from its peers when it starts and every
/// minute, and keeps it on disk across restarts. Pure: the owner does the I/O.
public struct SessionRevocations: Equatable, Sendable {
    /// Revocations kept at most: a flood of logouts (each needs a session, so a login) cannot grow a
    /// node's memory without bound; the ones expiring soonest go first.
    public static let entriesMax = 10_000

    public private(set) var expiries: [String: Int64] = [:]

    public init() {}

    public func isRevoked(_ token: Session.Token) -> Bool { expiries[token.id] != nil }

    /// Adds revocations; answers whether any was new.
    @discardableResult
    public mutating func add(_ entries: [String: Int64], now: WallTime) -> Bool {
        var changed = false
        for (id, expires) in entries where expires > now.millisecondsSinceEpoch && expiries[id] == nil {
            // No session lives longer than `Session.lifetime`: a later expiry is kept only that long.
            expiries[id] = min(expires, now.millisecondsSinceEpoch + Session.lifetime)
            changed = true
        }
        if expiries.count > SessionRevocations.entriesMax {
            let kept = expiries.sorted { $0.value > $1.value }.prefix(SessionRevocations.entriesMax)
            expiries = Dictionary(uniqueKeysWithValues: kept.map { ($0.key, $0.value) })
        }
        return changed
    }

    /// Drops the revocations of sessions that have expired.
    public mutating func forgetExpired(now: WallTime) {
        expiries = expiries.filter { $0.value > now.millisecondsSinceEpoch }
    }

    /// The list as sent between nodes and kept on disk: `{"<id>": <expires ms>, ...}`.
    public var json: JSONValue { .object(expiries.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }) }

    /// Reads `json`; nil when it is not such a list.
    public static func entries(from json: JSONValue) -> [String: Int64]? {
        guard case .object(let pairs) = json else { return nil }
        var out: [String: Int64] = [:]
        for (id, value) in pairs {
            guard id.utf8.count == Session.idHexCharacters, let expires = value.intValue else { return nil }
            out[id] = expires
        }
        return out
    }
}

extension Session {
    /// The session of a request's `Cookie` header: issued here, not expired, not revoked.
    public func token(inCookieHeader header: String?, now: WallTime, revoked: SessionRevocations) -> Token? {
        guard let text = token(inCookieHeader: header), let token = verify(text, now: now), !revoked.isRevoked(token)
        else { return nil }
        return token
    }
}
