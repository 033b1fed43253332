import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP

extension ClusterHome {
    /// The faults the operator wants (`devcluster partition ...`): pushed to every node, passed to each
    /// node it starts.
    public var faultsPath: String { path + "/faults.json" }
}

/// One node's answer to a fault push or query.
public typealias FaultAnswers = [String: Result<FaultReport, ProbeError>]

extension Launcher {
    public static let faultTimeout: Duration = .seconds(2)

    /// The wanted faults (none when the file is absent).
    public func wantedFaults() throws(LauncherError) -> FaultTable {
        guard let data = FileManager.default.contents(atPath: home.faultsPath) else { return FaultTable() }
        do {
            return try JSONDecoder().decode(FaultTable.self, from: data)
        } catch {
            throw .io(path: home.faultsPath, reason: "not a fault table (\(error)): delete it to start afresh")
        }
    }

    /// Changes the wanted faults under the home's lock, saves them with the next version, and pushes
    /// them to every running node. A rule naming a node that is down still holds once it starts.
    public func changeFaults(
        _ change: (inout [FaultRule]) throws(LauncherError) -> Void
    ) throws(LauncherError) -> (FaultTable, FaultAnswers) {
        let (record, table) = try home.withLock { () throws(LauncherError) in
            let record = try home.load()
            var table = try wantedFaults()
            try change(&table.rules)
            table.version += 1
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(table).write(to: URL(fileURLWithPath: home.faultsPath), options: .atomic)
            } catch {
                throw .io(path: home.faultsPath, reason: "\(error)")
            }
            return (record, table)
        }
        note("faults", "all", table.rules.isEmpty ? "cleared" : table.rules.map(\.description).joined(separator: ", "))
        return (table, pushFaults(table, record))
    }

    /// Sends `table` to each running node; answers by node id.
    public func pushFaults(_ table: FaultTable, _ record: ClusterRecord) -> FaultAnswers {
        let body = (try? JSONEncoder().encode(table)).map { Array($0) } ?? []
        let signer = self.key(record)
        let targets = record.nodes.filter { processState(record, $0.id) == .running }
        let requests = targets.map { node in
            var request = Probe.request("PUT", AdminPaths.faults, key: signer, body: body)
            request.headers.add("Content-Type", "application/json")
            return (Probe.Target(id: node.id, endpoint: node.endpoint), request)
        }
        return Launcher.reports(Probe.send(requests, timeout: Launcher.faultTimeout, tls: tls))
    }

    /// What each running node applies now.
    public func faultReports(_ record: ClusterRecord) -> FaultAnswers {
        let signer = self.key(record)
        let requests = record.nodes.filter { processState(record, $0.id) == .running }.map { node in
            (Probe.Target(id: node.id, endpoint: node.endpoint), Probe.request("GET", AdminPaths.faults, key: signer))
        }
        return Launcher.reports(Probe.send(requests, timeout: Launcher.faultTimeout, tls: tls))
    }

    static func reports(_ responses: [String: Result<HTTPClientResponse, ProbeError>]) -> FaultAnswers {
        responses.mapValues { result in
            result.flatMap { r in
                guard r.status == 200 else {
                    return .failure(ProbeError(description: "HTTP \(r.status): \(r.bodyText.prefix(200))"))
                }
                guard let report = try? JSONDecoder().decode(FaultReport.self, from: Data(r.body)) else {
                    return .failure(ProbeError(description: "unreadable answer"))
                }
                return .success(report)
            }
        }
    }
}

/// The rules behind each fault command. Pure.
public enum FaultPlan {
    /// Every link from a node of `a` to a node of `b`, and back unless `oneway`.
    public static func partition(
        _ a: [String], _ b: [String], oneway: Bool, mode: FaultRule.Mode, expiresAt: Int64?
    ) -> [FaultRule] {
        var rules: [FaultRule] = []
        for x in a {
            for y in b where x != y {
                rules.append(FaultRule(from: x, to: y, mode: mode, expiresAt: expiresAt))
                if !oneway { rules.append(FaultRule(from: y, to: x, mode: mode, expiresAt: expiresAt)) }
            }
        }
        return rules
    }

    /// Every link to and from `node`, delayed.
    public static func slow(
        _ node: String, others: [String], delayMs: Int64, jitterMs: Int64, expiresAt: Int64?
    ) -> [FaultRule] {
        others.filter { $0 != node }.flatMap { peer in
            [
                FaultRule(
                    from: peer, to: node, mode: .delay, delayMs: delayMs, jitterMs: jitterMs, expiresAt: expiresAt),
                FaultRule(
                    from: node, to: peer, mode: .delay, delayMs: delayMs, jitterMs: jitterMs, expiresAt: expiresAt),
            ]
        }
    }

    /// `rules` with `added` in: an added rule replaces any of the same link and mode.
    public static func merge(_ rules: [FaultRule], _ added: [FaultRule]) -> [FaultRule] {
        rules.filter { old in !added.contains { $0.from == old.from && $0.to == old.to && $0.mode == old.mode } }
            + added
    }

    /// `500ms`, `500ms±50ms`, `500ms+-50ms`, `1s`: the delay and its jitter in milliseconds.
    public static func parseDelay(_ text: String) -> (delay: Int64, jitter: Int64)? {
        let parts = text.replacing("+-", with: "±").split(separator: "±", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return nil }
        func ms(_ part: Substring) -> Int64? {
            if let n = Int64(part), n >= 0 { return n }
            return (try? DurationText.parse(String(part))).map { $0.milliseconds }
        }
        guard let delay = ms(parts[0]), delay <= FaultRule.delayMsMax else { return nil }
        guard parts.count == 2 else { return (delay, 0) }
        guard let jitter = ms(parts[1]), jitter <= delay else { return nil }
        return (delay, jitter)
    }
}
