import Core

/// The dashboard's signed session: after a login with the cluster's access and secret key, the
/// browser holds `v1.<expires>.<mac>` in an HttpOnly cookie. The MAC key is derived from the secret
/// key, so the cookie reveals nothing of it, every node of the deployment accepts it, and changing
/// the secret key ends every session. Pure, with the time passed in.
public struct Session: Sendable {
    public static let cookieName = "dc_session"
    public static let lifetime: Int64 = 12 * 3600 * 1000

    let accessKey: String
    let macKey: [UInt8]
    let credentialDigest: [UInt8]

    public init(accessKey: String, secretKey: String) {
        self.accessKey = accessKey
        macKey = Crypto.hmacSHA256(key: Array(secretKey.utf8), data: Array("devcluster dashboard session".utf8))
        credentialDigest = Session.digest(accessKey, secretKey)
    }

    /// Whether credentials (a login form's, HTTP Basic auth's) are the cluster's, compared in
    /// constant time.
    public func accepts(accessKey: String, secretKey: String) -> Bool {
        Crypto.constantTimeEqual(Session.digest(accessKey, secretKey), credentialDigest)
    }

    static func digest(_ accessKey: String, _ secretKey: String) -> [UInt8] {
        Crypto.sha256(Array((accessKey + "\n" + secretKey).utf8))
    }

    /// A token valid until `now` + `lifetime`.
    public func issue(now: WallTime) -> String {
        let expires = now.millisecondsSinceEpoch + Session.lifetime
        return "v1.\(expires).\(mac(expires).hexString)"
    }

    /// Whether `token` is one this deployment issued and has not expired.
    public func isValid(_ token: String, now: WallTime) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let expires = Int64(parts[1]),
            expires > now.millisecondsSinceEpoch, expires <= now.millisecondsSinceEpoch + Session.lifetime
        else { return false }
        return Crypto.constantTimeEqual(Array(parts[2].utf8), Array(mac(expires).hexString.utf8))
    }

    /// The session token in a `Cookie` header, if any.
    public static func token(inCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmed() == cookieName {
                return String(kv[1].trimmed())
            }
        }
        return nil
    }

    private func mac(_ expires: Int64) -> [UInt8] {
        Crypto.hmacSHA256(key: macKey, data: Array("\(accessKey)\n\(expires)".utf8))
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
