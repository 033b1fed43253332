import Core

/// The dashboard's signed session: after a login with the cluster's access and secret key, the
/// browser holds `v2.<id>.<expires>.<mac>` in an HttpOnly cookie. The MAC key is derived from the
/// secret key, so the cookie reveals nothing of it, every node of the deployment accepts it, and
/// changing the secret key ends every session; logging out revokes one (`SessionRevocations`, by
/// its random id). Tokens of the earlier `v1` form (no id, so not revocable) are no longer accepted.
/// Pure, with the time passed in.
public struct Session: Sendable {
    public static let lifetime: Int64 = 12 * 3600 * 1000

    /// What the sessions are for. Each has a key of its own: the console and the nodes share a host
    /// (browsers send a host's cookies to all its ports), and a console session must not open a
    /// node's dashboard, nor outlive its logout there.
    public enum Purpose: String, Sendable {
        case dashboard, console

        public var cookieName: String { self == .dashboard ? "dc_session" : "dc_console" }
    }

    public let purpose: Purpose
    let accessKey: String
    let macKey: [UInt8]
    let credentialDigest: [UInt8]

    public init(accessKey: String, secretKey: String, purpose: Purpose = .dashboard) {
        self.purpose = purpose
        self.accessKey = accessKey
        macKey = Crypto.hmacSHA256(
            key: Array(secretKey.utf8), data: Array("devcluster \(purpose.rawValue) session".utf8))
        credentialDigest = Session.digest(accessKey, secretKey)
    }

    public var cookieName: String { purpose.cookieName }

    /// Whether credentials (a login form's, HTTP Basic auth's) are the cluster's, compared in
    /// constant time.
    public func accepts(accessKey: String, secretKey: String) -> Bool {
        Crypto.constantTimeEqual(Session.digest(accessKey, secretKey), credentialDigest)
    }

    static func digest(_ accessKey: String, _ secretKey: String) -> [UInt8] {
        Crypto.sha256(Array((accessKey + "\n" + secretKey).utf8))
    }

    /// What a valid token says: which session, and until when.
    public struct Token: Equatable, Sendable {
        public let id: String
        public let expires: Int64
    }

    public static let idHexCharacters = 16

    /// A new session's token, valid until `now` + `lifetime`.
    public func issue(
        now: WallTime, id: String = Crypto.randomBytes(Session.idHexCharacters / 2).hexString
    )
        -> String
    {
        let expires = now.millisecondsSinceEpoch + Session.lifetime
        return "v2.\(id).\(expires).\(mac(id, expires).hexString)"
    }

    /// The session of `token` when this deployment issued it and it has not expired (revocation is the
    /// caller's to check).
    public func verify(_ token: String, now: WallTime) -> Token? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v2", parts[1].utf8.count == Session.idHexCharacters,
            parts[1].utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            let expires = Int64(parts[2]), expires > now.millisecondsSinceEpoch,
            expires <= now.millisecondsSinceEpoch + Session.lifetime
        else { return nil }
        let id = String(parts[1])
        guard Crypto.constantTimeEqual(Array(parts[3].utf8), Array(mac(id, expires).hexString.utf8)) else {
            return nil
        }
        return Token(id: id, expires: expires)
    }

    /// What a page of the session `token` sends back with every change it asks for: a request from
    /// another site cannot know it (CSRF).
    public func csrfToken(for token: Token) -> String {
        Crypto.hmacSHA256(key: macKey, data: Array("csrf\n\(token.id)".utf8)).hexString
    }

    /// Whether `given` is the CSRF token of `token`'s session, compared in constant time.
    public func acceptsCSRF(_ given: String, for token: Token) -> Bool {
        Crypto.constantTimeEqual(Array(given.utf8), Array(csrfToken(for: token).utf8))
    }

    /// The session token in a `Cookie` header, if any.
    public func token(inCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmed() == cookieName {
                return String(kv[1].trimmed())
            }
        }
        return nil
    }

    private func mac(_ id: String, _ expires: Int64) -> [UInt8] {
        Crypto.hmacSHA256(key: macKey, data: Array("\(accessKey)\n\(id)\n\(expires)".utf8))
    }
}

extension Substring {
    fileprivate func trimmed() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
