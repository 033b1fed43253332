import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP
import S3
import Storage

/// The browser side of a node (config `browser: on`): the dashboard page and its JSON, behind a login
/// with the cluster's access and secret key that leaves a signed session cookie; the event stream
/// (SSE) for the dashboard and for `curl`; the redirect of a browser opening the node's root URL.
extension Node {
    /// Per-peer deadline of the dashboard's cluster view: a stalled peer shows as unreachable, fast.
    static let dashboardPeerTimeout: Duration = .milliseconds(1500)
    /// Keys the dashboard offers for the shard map, per bucket.
    static let dashboardKeysMax = 200

    /// Whether a request comes from an operator: a dashboard session, HTTP Basic auth with the root
    /// credentials (Prometheus' `basic_auth`, curl's `-u`), or the cluster key's signature.
    func isAuthorizedOperator(_ request: HTTPServerRequest) -> Bool {
        let head = request.head
        if dashboardSession(head) != nil { return true }
        if head.headers[ClusterKey.signatureHeader] != nil, case .success = gate.admit(request, at: loop.iterationTime)
        {
            return true
        }
        guard let header = head.headers["Authorization"], header.hasPrefix("Basic "),
            let decoded = Base64.decode(String(header.dropFirst(6))),
            let text = String(validating: decoded, as: UTF8.self), let colon = text.firstIndex(of: ":")
        else { return false }
        // Basic auth is a credential guess like the login form's: throttled the same way.
        let source = request.remoteAddress?.host ?? ""
        guard loginThrottle.wait(for: source, now: loop.iterationTime) == nil else { return false }
        let accepted = session.accepts(
            accessKey: String(text[..<colon]), secretKey: String(text[text.index(after: colon)...]))
        noteLogin(accepted, from: source, by: "basic auth")
        return accepted
    }

    /// Counts a credential check against its source, and logs a failure (and a lockout) once.
    func noteLogin(_ accepted: Bool, from source: String, by means: String) {
        guard !accepted else { return loginThrottle.succeeded(source) }
        let lockout = loginThrottle.failed(source, now: loop.iterationTime)
        var fields: [(String, JSONValue)] = [("from", .string(source)), ("by", .string(means))]
        if let lockout { fields.append(("lockedOutFor", .string(DurationText.format(lockout)))) }
        log.warn("dashboard login refused", fields)
    }

    /// A browser's first visit: `GET /` without credentials that asks for HTML. S3 clients never send
    /// `Accept: text/html`, and a signed request always has credentials.
    func isBrowserLanding(_ head: HTTPRequestHead) -> Bool {
        config.browser && head.method == "GET" && head.path == "/" && head.query == nil
            && head.headers["Authorization"] == nil && (head.headers["Accept"] ?? "").contains("text/html")
    }

    func routeDashboard(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let head = request.head
        let path = String(head.path)
        guard config.browser else {
            return sendText(response, 404, "the dashboard is off on this node (config: \"browser\": \"off\")")
        }
        if path == AdminPaths.dashboard + "login" && head.method == "POST" { return login(request, response) }
        guard isAuthorizedOperator(request) else {
            if path.hasPrefix(AdminPaths.dashboardAPI) {
                return sendText(response, 401, "log in first: open \(AdminPaths.dashboard) in a browser")
            }
            return sendPage(response, 200, DashboardPage.login(error: nil))
        }
        let query = QueryParameters(parsing: head.query) ?? QueryParameters()
        switch (head.method, path) {
        case ("GET", AdminPaths.dashboard):
            sendPage(response, 200, DashboardPage.main(node: me.rawValue))
        case ("POST", AdminPaths.dashboard + "logout"):
            if let token = dashboardSession(head) { revoke(token) }
            response.send(
                status: 303,
                headers: [
                    "Location": AdminPaths.dashboard,
                    "Set-Cookie": "\(session.cookieName)=; Path=/_dc/; Max-Age=0; HttpOnly; SameSite=Strict",
                ])
        case ("GET", AdminPaths.dashboardAPI + "cluster"):
            clusterView { [unowned self] in sendJSON(response, $0) }
        case ("GET", AdminPaths.dashboardAPI + "buckets"):
            objects.listBuckets { [unowned self] result in
                switch result {
                case .success(let buckets): sendJSON(response, buckets.map(\.name))
                case .failure(let e): sendText(response, 503, e.description)
                }
            }
        case ("GET", AdminPaths.dashboardAPI + "keys"):
            objects.list(
                bucket: query["bucket"] ?? "", prefix: query["prefix"] ?? "", marker: "", delimiter: nil,
                limit: Node.dashboardKeysMax
            ) { [unowned self] result in
                switch result {
                case .success(let page): sendJSON(response, page.entries.map(\.key))
                case .failure(let e): sendText(response, S3Error.from(e).status, e.description)
                }
            }
        case ("GET", AdminPaths.dashboardAPI + "folder"):
            // One page of a folder: its subfolders and keys (delimiter "/"), and where the next page starts.
            objects.list(
                bucket: query["bucket"] ?? "", prefix: query["prefix"] ?? "", marker: query["after"] ?? "",
                delimiter: "/", limit: Node.dashboardKeysMax
            ) { [unowned self] result in
                switch result {
                case .success(let page):
                    sendJSON(
                        response,
                        DashboardFolder(
                            folders: page.prefixes, keys: page.entries.map(\.key),
                            next: page.isTruncated ? page.nextMarker : nil))
                case .failure(let e): sendText(response, S3Error.from(e).status, e.description)
                }
            }
        case ("GET", AdminPaths.dashboardAPI + "shards"):
            objects.shardMap(
                bucket: query["bucket"] ?? "", key: query["key"] ?? "",
                versionID: query["versionId"].flatMap { $0.isEmpty ? nil : $0 }
            ) { [unowned self] result in
                switch result {
                case .success(let map): sendJSON(response, map)
                case .failure(let e): sendText(response, S3Error.from(e).status, e.description)
                }
            }
        case ("GET", AdminPaths.dashboardAPI + "bucket"):
            objects.bucketInfo(query["bucket"] ?? "") { [unowned self] result in
                switch result {
                case .success(let info):
                    sendJSON(response, ["name": info.name, "versioning": info.versioning ?? "Off"])
                case .failure(let e): sendText(response, S3Error.from(e).status, e.description)
                }
            }
        case ("GET", AdminPaths.dashboardAPI + "deleted"):
            // Keys under a prefix whose latest version is a delete marker: gone from listings, history kept.
            objects.listVersions(
                bucket: query["bucket"] ?? "", prefix: query["prefix"] ?? "", keyMarker: "", versionIDMarker: "",
                delimiter: nil, limit: Node.dashboardKeysMax
            ) { [unowned self] result in
                switch result {
                case .success(let page):
                    sendJSON(response, page.entries.filter { $0.isLatest && $0.version.isDeleteMarker }.map(\.key))
                case .failure(let e): sendText(response, S3Error.from(e).status, e.description)
                }
            }
        case ("GET", AdminPaths.dashboardAPI + "versions"):
            // Every version and delete marker of one key, newest first.
            let key = query["key"] ?? ""
            objects.listVersions(
                bucket: query["bucket"] ?? "", prefix: key, keyMarker: "", versionIDMarker: "", delimiter: nil,
                limit: Node.dashboardKeysMax
            ) { [unowned self] result in
                switch result {
                case .success(let page):
                    sendJSON(
                        response,
                        page.entries.filter { $0.key == key }.map {
                            DashboardVersion(
                                versionId: $0.version.versionID, modTime: $0.version.modTime, size: $0.version.size,
                                etag: $0.version.etag, isDeleteMarker: $0.version.isDeleteMarker, isLatest: $0.isLatest)
                        })
                case .failure(let e): sendText(response, S3Error.from(e).status, e.description)
                }
            }
        default:
            sendText(response, 404, "no such dashboard page: \(head.method) \(path)")
        }
    }

    /// `GET /_dc/events`: the event stream, for an operator.
    func routeEventStream(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        guard isAuthorizedOperator(request) else {
            return response.send(
                status: 401, headers: ["WWW-Authenticate": "Basic realm=\"devcluster\""],
                body: Array("the event stream needs the cluster's access and secret key (HTTP Basic auth)\n".utf8))
        }
        let query = QueryParameters(parsing: request.head.query) ?? QueryParameters()
        let after =
            request.head.headers["Last-Event-ID"].flatMap { UInt64($0) } ?? query["after"].flatMap { UInt64($0) }
        eventStream.subscribe(response, after: after)
    }

    private func login(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let source = request.remoteAddress?.host ?? ""
        if let wait = loginThrottle.wait(for: source, now: loop.iterationTime) {
            return sendThrottled(response, wait)
        }
        request.readBody(limit: 8 << 10) { [unowned self] result in
            guard case .success(let body) = result,
                let form = QueryParameters(parsing: Substring(String(decoding: body, as: UTF8.self)))
            else { return sendPage(response, 400, DashboardPage.login(error: "The form did not arrive whole.")) }
            let accepted = session.accepts(accessKey: form["accessKey"] ?? "", secretKey: form["secretKey"] ?? "")
            noteLogin(accepted, from: source, by: "login form")
            guard accepted else {
                if let wait = loginThrottle.wait(for: source, now: loop.iterationTime) {
                    return sendThrottled(response, wait)
                }
                return sendPage(
                    response, 401, DashboardPage.login(error: "Those are not this cluster's access and secret key."))
            }
            let maxAge = Session.lifetime / 1000
            response.send(
                status: 303,
                headers: [
                    "Location": AdminPaths.dashboard,
                    "Set-Cookie":
                        "\(session.cookieName)=\(session.issue(now: .now())); Path=/_dc/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict",
                ])
        }
    }

    /// 429 with `Retry-After`: too many failed logins from this address lately.
    private func sendThrottled(_ response: HTTPServerResponse, _ wait: Duration) {
        let seconds = max(1, (wait.milliseconds + 999) / 1000)
        response.defaultHeaders.add("Retry-After", String(seconds))
        sendPage(
            response, 429,
            DashboardPage.login(
                error: "Too many failed logins from your address: try again in \(DurationText.format(wait))."))
    }

    private func sendPage(_ response: HTTPServerResponse, _ status: Int, _ html: String) {
        response.send(status: status, headers: DashboardPage.pageHeaders, body: Array(html.utf8))
    }

    /// One page of a folder, as the dashboard API lists it.
    struct DashboardFolder: Encodable {
        let folders: [String]
        let keys: [String]
        /// Where the next page starts (`after=`), or nil on the last page.
        let next: String?
    }

    /// One version of a key, as the dashboard API lists it.
    struct DashboardVersion: Encodable {
        let versionId: String
        let modTime: Int64
        let size: Int64
        let etag: String
        let isDeleteMarker: Bool
        let isLatest: Bool
    }

    /// This node's status and every peer's, fetched now (each within `dashboardPeerTimeout`).
    struct ClusterView: Encodable {
        var node: String
        var members: [String]
        var statuses: [String: NodeStatus]
        var errors: [String: String]
    }

    func clusterView(_ done: @escaping (ClusterView) -> Void) {
        var view = ClusterView(
            node: me.rawValue, members: config.members.map(\.id.rawValue), statuses: [me.rawValue: status()],
            errors: [:])
        let peers = config.members.filter { $0.id != me }
        var waiting = peers.count
        guard waiting > 0 else { return done(view) }
        func answered(_ peer: NodeID, _ status: NodeStatus?, _ error: String?) {
            view.statuses[peer.rawValue] = status
            view.errors[peer.rawValue] = error
            waiting -= 1
            if waiting == 0 { done(view) }
        }
        for peer in peers {
            guard let endpoint = HTTPEndpoint(url: peer.url) else {
                answered(peer.id, nil, "no endpoint")
                continue
            }
            let request = HTTPClientRequest(
                method: "GET", target: AdminPaths.status,
                headers: key.sign(
                    method: "GET", target: AdminPaths.status, caller: me.rawValue,
                    nonce: .next(to: endpoint.description)), body: [],
                isIdempotent: true)
            client.send(request, to: endpoint, timeout: Node.dashboardPeerTimeout) { result in
                switch result {
                case .success(let r) where r.status == 200:
                    let status = try? JSONDecoder().decode(NodeStatus.self, from: Data(r.body))
                    answered(peer.id, status, status == nil ? "unreadable status" : nil)
                case .success(let r): answered(peer.id, nil, "HTTP \(r.status)")
                case .failure(let e): answered(peer.id, nil, e.description)
                }
            }
        }
    }
}
