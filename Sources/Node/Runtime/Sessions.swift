import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP

/// Dashboard sessions logged out before they expire: revoked here, told to every peer at once, caught
/// up from the peers at start and every minute (a peer down or cut off when a session was revoked
/// learns of it then), kept in `.dc/revoked-sessions.json` across restarts.
extension Node {
    /// How often a node asks its peers for the sessions they know to be revoked.
    static let revocationSyncInterval: Duration = .seconds(60)
    static let revocationCallTimeout: Duration = .seconds(2)
    /// A full list as JSON: every entry is a 16-digit id and a millisecond time, under 48 bytes.
    static let revocationsBytesMax = Int64(SessionRevocations.entriesMax * 48)

    var revocationsPath: String { config.dataDirectory + "/.dc/revoked-sessions.json" }

    /// The session of a valid, unrevoked dashboard cookie.
    func dashboardSession(_ head: HTTPRequestHead) -> Session.Token? {
        session.token(inCookieHeader: head.headers["Cookie"], now: .now(), revoked: revocations)
    }

    /// The list an earlier run kept (none, or an unreadable one, is an empty list: the peers fill it in).
    func loadRevocations() {
        guard let data = FileManager.default.contents(atPath: revocationsPath),
            let json = try? JSONValue.parse(Array(data)), let entries = SessionRevocations.entries(from: json)
        else { return }
        revocations.add(entries, now: .now())
    }

    /// Logs `token` out everywhere.
    func revoke(_ token: Session.Token) {
        merge([token.id: token.expires], from: "logout")
        let body = Array(revocations.json.text.utf8)
        for peer in config.members where peer.id != me {
            guard let endpoint = HTTPEndpoint(url: peer.url) else { continue }
            let request = HTTPClientRequest(
                method: "POST", target: AdminPaths.revokedSessions,
                headers: key.sign(
                    method: "POST", target: AdminPaths.revokedSessions, caller: me.rawValue, body: body,
                    nonce: .next(to: endpoint.description)), body: body)
            client.send(request, to: endpoint, timeout: Node.revocationCallTimeout) { [weak self] result in
                if case .success(let r) = result, r.status == 204 { return }
                self?.log.info(
                    "a peer did not take a session revocation now: it catches up within a minute",
                    [("peer", .string(peer.id.rawValue))])
            }
        }
    }

    /// `POST`: revocations a peer made or knows of; `GET`: the ones this node knows of.
    func handleRevokedSessions(_ request: HTTPServerRequest, _ response: HTTPServerResponse, caller: String) {
        guard request.head.method == "POST" else { return sendJSON(response, revocations.expiries) }
        request.readBody(limit: Node.revocationsBytesMax) { [weak self] result in
            guard let self else { return }
            guard case .success(let body) = result, let json = try? JSONValue.parse(body),
                let entries = SessionRevocations.entries(from: json)
            else { return sendText(response, 400, "expected {\"<session id>\": <expires ms>, ...}") }
            merge(entries, from: caller)
            response.send(status: 204)
        }
    }

    /// Asks every peer for its list (at start and every `revocationSyncInterval`).
    func syncRevocations() {
        revocations.forgetExpired(now: .now())
        for peer in config.members where peer.id != me {
            guard let endpoint = HTTPEndpoint(url: peer.url) else { continue }
            let request = HTTPClientRequest(
                method: "GET", target: AdminPaths.revokedSessions,
                headers: key.sign(
                    method: "GET", target: AdminPaths.revokedSessions, caller: me.rawValue,
                    nonce: .next(to: endpoint.description)), isIdempotent: true)
            client.send(request, to: endpoint, timeout: Node.revocationCallTimeout) { [weak self] result in
                guard case .success(let r) = result, r.status == 200, let json = try? JSONValue.parse(r.body),
                    let entries = SessionRevocations.entries(from: json)
                else { return }
                self?.merge(entries, from: peer.id.rawValue)
            }
        }
    }

    private func merge(_ entries: [String: Int64], from source: String) {
        guard revocations.add(entries, now: .now()) else { return }
        log.info("dashboard sessions revoked", [("count", .int(Int64(entries.count))), ("from", .string(source))])
        do {
            try Data(revocations.json.text.utf8).write(to: URL(fileURLWithPath: revocationsPath), options: .atomic)
        } catch {
            log.warn(
                "cannot keep the revoked sessions on disk: a restart forgets them until a peer tells again",
                [("path", .string(revocationsPath)), ("error", .string("\(error)"))])
        }
    }
}
