import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP
import S3

#if canImport(Glibc)
import Glibc
#endif

/// Changing a bucket's settings from the command line, through the cluster's own S3 API (signed with
/// the cluster's credentials, to the first running node that answers).
extension Launcher {
    /// Makes `bucket` (or the keys under `prefix` in it) open to anonymous callers at `access`, with
    /// the same policy `mc anonymous set` would write; nil `access` removes the bucket's policy.
    public func setAnonymousAccess(
        _ record: ClusterRecord, bucket: String, prefix: String, access: CannedPolicy.Access?
    ) throws(LauncherError) {
        let body = access.map { Array(CannedPolicy.document(bucket: bucket, prefix: prefix, access: $0).utf8) } ?? []
        let answer = try s3Call(record, access == nil ? "DELETE" : "PUT", "/\(bucket)?policy", body: body)
        guard answer.status == 204 || answer.status == 200 else {
            throw .usage("the cluster refused the policy of \(bucket): \(Launcher.s3ErrorText(answer))")
        }
        note(
            "bucket", "cluster",
            access.map { "\(bucket)/\(prefix) open for anonymous \($0.rawValue)" } ?? "\(bucket) private")
    }

    /// One signed S3 request to the first running node that answers it.
    func s3Call(
        _ record: ClusterRecord, _ method: String, _ target: String, body: [UInt8] = []
    ) throws(LauncherError) -> HTTPClientResponse {
        var reasons: [String] = []
        for node in record.nodes where processState(record, node.id) == .running {
            guard let endpoint = HTTPEndpoint(url: node.endpoint) else { continue }
            var headers = HTTPHeaders()
            SigV4.sign(
                method: method, target: target, headers: &headers, host: endpoint.hostHeader,
                payloadHash: Crypto.sha256(body).hexString, accessKey: record.accessKey, secretKey: record.secretKey,
                region: record.region)
            let request = HTTPClientRequest(method: method, target: target, headers: headers, body: body)
            switch Probe.send(
                [(Probe.Target(id: node.id, endpoint: node.endpoint), request)], timeout: .seconds(10), tls: tls)[
                    node.id]
            {
            case .success(let r) where r.status < 500: return r
            case .success(let r): reasons.append("\(node.id): \(Launcher.s3ErrorText(r))")
            case .failure(let e): reasons.append("\(node.id): \(e.description)")
            case nil: continue
            }
        }
        throw .usage(
            reasons.isEmpty
                ? "no node is running: start the cluster with 'devcluster up'"
                : "no node could answer (\(reasons.joined(separator: "; ")))")
    }

    /// The code and message of an S3 error answer.
    static func s3ErrorText(_ r: HTTPClientResponse) -> String {
        guard let xml = try? XMLElement.parse(r.body), let code = xml.child("Code")?.value else {
            return "HTTP \(r.status)"
        }
        return "\(code): \(xml.child("Message")?.value ?? "")"
    }
}

extension Launcher {
    /// Runs the buckets' lifecycle rules now on one running node, judged as at `asOf` (later than now:
    /// as if that much time had passed), and waits up to `timeout` for the pass to end.
    public func runLifecycle(
        _ record: ClusterRecord, asOf: WallTime, timeout: Duration
    ) throws(LauncherError) -> LifecycleRunner.Pass {
        guard let node = record.nodes.first(where: { processState(record, $0.id) == .running }) else {
            throw .usage("no node is running: start the cluster with 'devcluster up'")
        }
        let target = Probe.Target(id: node.id, endpoint: node.endpoint)
        func call(_ method: String, _ path: String) throws(LauncherError) -> LifecycleRunner.Pass? {
            let answer = Probe.send(
                [(target, Probe.request(method, path, key: key(record)))], timeout: .seconds(10), tls: tls)
            guard case .success(let r)? = answer[node.id], r.status == 200 else {
                throw .usage("\(node.id) did not answer the lifecycle call: is it up? (devcluster status)")
            }
            return try? JSONDecoder().decode(LifecycleRunner.Pass?.self, from: Data(r.body))
        }
        guard let started = try call("POST", AdminPaths.lifecycle + "?asOf=\(asOf.millisecondsSinceEpoch)") else {
            throw .usage("\(node.id) did not start a lifecycle pass")
        }
        let deadline = Instant.now() + timeout
        var pass = started
        while !pass.finished {
            guard Instant.now() < deadline else {
                throw .usage("the lifecycle pass was not done within \(DurationText.format(timeout))")
            }
            usleep(100_000)
            if let p = try call("GET", AdminPaths.lifecycle), p.number == started.number { pass = p }
        }
        note(
            "lifecycle", node.id,
            "expired \(pass.expired), noncurrent removed \(pass.noncurrentRemoved), delete markers removed \(pass.deleteMarkersRemoved), uploads aborted \(pass.uploadsAborted)"
        )
        return pass
    }
}
