import Core
import HTTP
import S3

/// A scenario's objects through S3: seeded random bodies written through a node that answers, their
/// SHA-256 kept, and read back byte-exact later. Requests are signed with the cluster's root
/// credentials; each is one `Probe.send` (a loop of its own: the run blocks anyway).
extension ScenarioRun {
    /// Deadline of one S3 request.
    static let requestTimeout: Duration = .seconds(30)
    /// Tries of a write or read that fails with 5xx or no answer (as SDKs retry), before the step fails.
    static let attemptsMax = 3
    /// The largest answer taken: the largest object a scenario writes, and room for headers.
    static let answerBytesMax = Scenario.objectBytesMax + (1 << 20)

    private struct Target {
        var id: String
        var endpoint: String
        var record: ClusterRecord
    }

    /// The first node that answers its probe (or `node`, if it answers).
    private func target(_ node: String? = nil) throws(StepFailure) -> Target {
        guard let record = try? home.load() else { throw StepFailure(summary: "no cluster: run devcluster up first") }
        let snapshot = launcher.snapshot(record)
        guard let found = snapshot.nodes.first(where: { $0.status != nil && (node == nil || $0.id == node) }) else {
            throw StepFailure(summary: node.map { "\($0) does not answer" } ?? "no node answers")
        }
        return Target(id: found.id, endpoint: found.endpoint, record: record)
    }

    private func s3(
        _ method: String, _ path: String, body: [UInt8] = [], _ target: Target
    ) -> Result<HTTPClientResponse, ProbeError> {
        guard let endpoint = HTTPEndpoint(url: target.endpoint) else {
            return .failure(ProbeError(description: "bad endpoint \(target.endpoint)"))
        }
        var headers = HTTPHeaders()
        SigV4.sign(
            method: method, target: path, headers: &headers, host: endpoint.hostHeader,
            payloadHash: Crypto.sha256(body).hexString, accessKey: target.record.accessKey,
            secretKey: target.record.secretKey, region: target.record.region)
        let request = HTTPClientRequest(method: method, target: path, headers: headers, body: body)
        return Probe.send(
            [(Probe.Target(id: target.id, endpoint: target.endpoint), request)], timeout: ScenarioRun.requestTimeout,
            bodyBytesMax: ScenarioRun.answerBytesMax, tls: launcher.tls)[target.id]
            ?? .failure(ProbeError(description: "no answer"))
    }

    /// `s3` tried again (after a short pause) while it fails with 5xx or no answer.
    private func s3Retrying(
        _ method: String, _ path: String, body: [UInt8] = [], _ target: Target
    ) -> Result<HTTPClientResponse, ProbeError> {
        var result = s3(method, path, body: body, target)
        for _ in 1..<ScenarioRun.attemptsMax {
            if case .success(let r) = result, r.status < 500 { break }
            sleep(ScenarioRun.retryInterval)
            result = s3(method, path, body: body, target)
        }
        return result
    }

    private static func path(_ name: String) -> String {
        let slash = name.firstIndex(of: "/")!
        return "/" + URLEncoding.encode(String(name[..<slash])) + "/"
            + URLEncoding.encode(String(name[name.index(after: slash)...]), keepSlash: true)
    }

    private static func describe(_ result: Result<HTTPClientResponse, ProbeError>) -> String {
        switch result {
        case .success(let r): Launcher.s3ErrorText(r)
        case .failure(let e): e.description
        }
    }

    func write(
        count: Int, sizes: ClosedRange<Int>, bucket: String, prefix: String, refused: Bool
    ) throws(StepFailure) -> StepResult {
        let node = try target()
        if !refused {
            let head = s3Retrying("HEAD", "/" + URLEncoding.encode(bucket), node)
            guard case .success(let r) = head, r.status == 200 || r.status == 404 else {
                throw StepFailure(summary: "cannot ask for bucket \(bucket): \(ScenarioRun.describe(head))")
            }
            if r.status == 404 {
                let made = s3Retrying("PUT", "/" + URLEncoding.encode(bucket), node)
                guard case .success(let answer) = made, answer.status == 200 else {
                    throw StepFailure(summary: "cannot make bucket \(bucket): \(ScenarioRun.describe(made))")
                }
            }
        }
        var total = 0
        for i in 0..<count {
            guard !isCancelled else { throw StepFailure(summary: "stopped after \(i) of \(count)") }
            let size = Int.random(in: sizes, using: &random)
            let body = random.bytes(size)
            let suffix = String(i)
            let name = "\(bucket)/\(prefix)\(String(repeating: "0", count: max(0, 5 - suffix.count)))\(suffix)"
            if refused {
                // Each must fail with a clear 503 (no write quorum), and never be visible afterwards.
                let result = s3("PUT", ScenarioRun.path(name), body: body, node)
                guard case .success(let r) = result, r.status == 503 else {
                    if case .success(let r) = result, r.status == 200 {
                        throw StepFailure(summary: "\(name): the write was taken, but it should have been refused")
                    }
                    throw StepFailure(summary: "\(name): refused with \(ScenarioRun.describe(result)), not 503")
                }
                self.refused.append(name)
                continue
            }
            let result = s3Retrying("PUT", ScenarioRun.path(name), body: body, node)
            guard case .success(let r) = result, r.status == 200 else {
                throw StepFailure(summary: "\(name) through \(node.id): \(ScenarioRun.describe(result))")
            }
            objects.append((name, Crypto.sha256(body)))
            total += size
        }
        if refused { return StepResult(ok: true, summary: "\(count) writes refused (503), as they should be") }
        return StepResult(ok: true, summary: "\(count) objects, \(ByteSize.format(Int64(total))) through \(node.id)")
    }

    func checkObjects() throws(StepFailure) -> StepResult {
        let node = try target()
        var bad: [String] = []
        for (name, digest) in objects {
            guard !isCancelled else { throw StepFailure(summary: "stopped") }
            let result = s3Retrying("GET", ScenarioRun.path(name), node)
            guard case .success(let r) = result, r.status == 200 else {
                bad.append("\(name): \(ScenarioRun.describe(result))")
                continue
            }
            if Crypto.sha256(r.body) != digest { bad.append("\(name): wrong bytes") }
        }
        for name in refused {
            let head = s3Retrying("HEAD", ScenarioRun.path(name), node)
            guard case .success(let r) = head, r.status == 404 else {
                bad.append("\(name): refused, yet HEAD answers \(ScenarioRun.describe(head))")
                continue
            }
        }
        guard bad.isEmpty else {
            throw StepFailure(
                summary: "\(bad.count) of \(objects.count + refused.count) objects wrong: "
                    + bad.prefix(5).joined(separator: "; "))
        }
        return StepResult(
            ok: true,
            summary: "all \(objects.count) objects byte-exact through \(node.id)"
                + (refused.isEmpty ? "" : ", none of the \(refused.count) refused writes visible"))
    }

    func read(times: Int, via nodeID: String, within bound: Duration) throws(StepFailure) -> StepResult {
        let node = try target(nodeID)
        var latencies: [Duration] = []
        for _ in 0..<times {
            for (name, digest) in objects {
                guard !isCancelled else { throw StepFailure(summary: "stopped") }
                let began = Instant.now()
                let result = s3("GET", ScenarioRun.path(name), node)
                latencies.append(Instant.now().since(began))
                guard case .success(let r) = result, r.status == 200 else {
                    throw StepFailure(summary: "\(name) through \(nodeID): \(ScenarioRun.describe(result))")
                }
                guard Crypto.sha256(r.body) == digest else { throw StepFailure(summary: "\(name): wrong bytes") }
            }
        }
        guard !latencies.isEmpty else { return StepResult(ok: true, summary: "no objects to read") }
        latencies.sort()
        let p50 = latencies[latencies.count / 2]
        let p99 = latencies[min(latencies.count - 1, latencies.count * 99 / 100)]
        let summary =
            "\(latencies.count) GETs via \(nodeID): p50 \(p50.milliseconds) ms, p99 \(p99.milliseconds) ms"
        guard p99 <= bound else { throw StepFailure(summary: summary + ", over \(DurationText.format(bound))") }
        return StepResult(ok: true, summary: summary)
    }
}
