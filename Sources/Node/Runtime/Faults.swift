import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP
import Loop

/// Injected faults (config `faults: on`): the table the operator pushed (`PUT /_dc/v1/faults`),
/// applied at this node's lowest peer I/O. Outgoing: the HTTP client drops, refuses, delays or loses
/// requests on the links the table names, below every retry and timeout. Incoming: peer requests from
/// a caller whose link to this node is dropped or refused are never answered or cut at once, so a
/// partition holds even against a peer with an older table. The table is kept in the data folder and
/// applied again at start, before the first heartbeat.
final class FaultState {
    var table = FaultTable()
    /// The rules in force at the last look, to report those that expired.
    var active: [FaultRule] = []
    let path: String
    let wantedPath: String?
    /// An incoming request on a dropped link is held this long, then its connection is cut (the caller
    /// gave up long before: every internal call has a shorter deadline).
    static let holdMax: Duration = .seconds(60)

    init(dataDirectory: String, wanted: String?) {
        path = dataDirectory + "/.dc/faults.json"
        wantedPath = wanted
    }

    /// The newer of the table this node saved and the operator's wanted one.
    func load() -> FaultTable? {
        let tables = [path, wantedPath].compactMap { $0 }.compactMap { file -> FaultTable? in
            guard let data = FileManager.default.contents(atPath: file) else { return nil }
            return try? JSONDecoder().decode(FaultTable.self, from: data)
        }
        return tables.max { $0.version < $1.version }
    }

    func save() throws {
        try JSONEncoder().encode(table).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

extension Node {
    /// Wires the client's fault hook and applies the table saved by an earlier run.
    func installFaults() {
        guard config.cluster.faults else { return }
        var peers: [HTTPEndpoint: String] = [:]
        for member in config.members where member.id != me {
            if let endpoint = HTTPEndpoint(url: member.url) { peers[endpoint] = member.id.rawValue }
        }
        let me = self.me.rawValue
        client.faults = { [unowned self] endpoint in
            guard let peer = peers[endpoint], !faults.table.rules.isEmpty else { return .none }
            switch faults.table.action(
                from: me, to: peer, at: .now(), roll: Double.random(in: 0..<1), jitter: Double.random(in: -1...1))
            {
            case .pass: return .none
            case .drop: return .drop
            case .reject: return .reject
            case .delay(let d): return .delay(d)
            }
        }
        if let saved = faults.load() { apply(saved, by: "restart") }
    }

    /// Holds back or cuts an incoming peer request on a dropped or refused link; else runs `serve`.
    func filterIncoming(
        caller: String, _ response: HTTPServerResponse, _ serve: @escaping () -> Void
    ) {
        guard config.cluster.faults, !faults.table.rules.isEmpty else { return serve() }
        // Delays and losses were the caller's to apply (applying them here too would count them twice).
        var action = faults.table.action(from: caller, to: me.rawValue, at: .now(), roll: 1, jitter: 0)
        if case .delay = action { action = .pass }
        act(action, response, serve)
    }

    /// The same for an S3 request (`--clients` faults: S3 clients apply none of their own), with its
    /// delays and losses.
    func filterClients(_ response: HTTPServerResponse, _ serve: @escaping () -> Void) {
        guard config.cluster.faults, !faults.table.rules.isEmpty else { return serve() }
        act(
            faults.table.action(
                from: FaultRule.clients, to: me.rawValue, at: .now(), roll: Double.random(in: 0..<1),
                jitter: Double.random(in: -1...1)), response, serve)
    }

    private func act(_ action: FaultTable.Action, _ response: HTTPServerResponse, _ serve: @escaping () -> Void) {
        switch action {
        case .pass: serve()
        case .reject: response.abortConnection()
        case .drop: hold(response, FaultState.holdMax) { response.abortConnection() }
        case .delay(let d): hold(response, d, then: serve)
        }
    }

    /// Runs `then` after `duration`, unless the client goes away first.
    private func hold(_ response: HTTPServerResponse, _ duration: Duration, then: @escaping () -> Void) {
        guard let timer = try? Timer(loop: loop, label: "held request") else { return response.abortConnection() }
        response.onAbort { timer.close() }
        timer.start(after: duration) {
            timer.close()
            then()
        }
    }

    /// `GET` and `PUT /_dc/v1/faults`.
    func routeFaults(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        guard config.cluster.faults else {
            return sendText(
                response, 403, "fault injection is off on \(me) (its config says \"faults\": \"off\")")
        }
        if request.head.method == "GET" { return sendJSON(response, faultReport()) }
        request.readBody(limit: 1 << 20) { [unowned self] result in
            if case .failure(let error) = result { return sendText(response, error.status, error.description) }
            guard case .success(let body) = result,
                let table = try? JSONDecoder().decode(FaultTable.self, from: Data(body))
            else { return sendText(response, 400, "the body is not a fault table") }
            if table.version < faults.table.version {
                // An older push arriving late: the newer table stays.
                return sendJSON(response, faultReport())
            }
            apply(table, by: "operator")
            sendJSON(response, faultReport())
        }
    }

    func faultReport() -> FaultReport {
        FaultReport(
            node: me.rawValue, enabled: config.cluster.faults, version: faults.table.version,
            rules: faults.table.rules, active: faults.table.active(at: .now()))
    }

    /// Takes a new table: saved, then every rule of this node's links that starts or ends is an event.
    private func apply(_ table: FaultTable, by cause: String) {
        faults.table = table
        do {
            try faults.save()
        } catch {
            log.warn(
                "cannot save the fault table: a restart will forget it until the launcher pushes it again",
                [("path", .string(faults.path)), ("error", .string("\(error)"))])
        }
        noteFaultChanges(cause: cause)
    }

    /// Reports the rules on this node's links that came into force or ended since the last look (a
    /// `--for` fault expires here, by the node's own clock).
    func noteFaultChanges(cause: String) {
        let mine = faults.table.active(at: .now()).filter { $0.from == me.rawValue || $0.to == me.rawValue }
        for rule in mine where !faults.active.contains(rule) {
            emit(Event(source: me.rawValue, kind: .faultInjected, fields: fields(rule, cause)))
        }
        for rule in faults.active where !mine.contains(rule) {
            let why = rule.isActive(at: .now()) ? cause : "expired"
            emit(Event(source: me.rawValue, kind: .faultCleared, fields: fields(rule, why)))
        }
        faults.active = mine
        disk.setInjectedFull(faults.table.isDiskFull(me.rawValue, at: .now()))
    }

    private func fields(_ rule: FaultRule, _ cause: String) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = [
            ("from", .string(rule.from)), ("to", .string(rule.to)), ("mode", .string(rule.mode.rawValue)),
            ("fault", .string(rule.description)), ("by", .string(cause)),
        ]
        if let expires = rule.expiresAt {
            out.append(("until", .string(WallTime(millisecondsSinceEpoch: expires).iso8601)))
        }
        return out
    }
}
