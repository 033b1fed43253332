import Admin
import Cluster
import Core
import FoundationEssentials
import HTTP
import Loop
import TLS

/// Asks nodes over HTTP, on a short-lived loop of our own: the launcher is a plain command-line
/// program, so each probe runs its own loop to completion.
public enum Probe {
    public struct Target: Sendable {
        public var id: String
        public var endpoint: String

        public init(id: String, endpoint: String) {
            self.id = id
            self.endpoint = endpoint
        }
    }

    /// Each node's `/_dc/v1/status`, in parallel, signed as `devcluster`.
    public static func statuses(
        _ targets: [Target], key: ClusterKey, timeout: Duration, tls: TLSContext?
    ) -> [String: Result<NodeStatus, ProbeError>] {
        let requests = targets.map { t in
            (
                t,
                HTTPClientRequest(
                    method: "GET", target: AdminPaths.status,
                    headers: key.sign(method: "GET", target: AdminPaths.status, caller: "devcluster"))
            )
        }
        let responses = send(requests, timeout: timeout, tls: tls)
        let decoder = JSONDecoder()
        var out: [String: Result<NodeStatus, ProbeError>] = [:]
        for (id, result) in responses {
            out[id] = result.flatMap { response in
                guard response.status == 200 else {
                    return .failure(
                        ProbeError(description: "HTTP \(response.status): \(response.bodyText.prefix(200))"))
                }
                do {
                    return .success(try decoder.decode(NodeStatus.self, from: Data(response.body)))
                } catch {
                    return .failure(ProbeError(description: "unreadable status: \(error)"))
                }
            }
        }
        return out
    }

    /// The counters named `prefix*` of each target's Prometheus metrics, summed over the targets (by
    /// name and labels, as they appear); nil when one of them did not answer.
    public static func counters(
        _ targets: [Target], key: ClusterKey, prefix: String, timeout: Duration, tls: TLSContext?
    ) -> [String:
        Double]?
    {
        var sums: [String: Double] = [:]
        for (_, result) in send(
            targets.map { ($0, request("GET", AdminPaths.metrics, key: key)) }, timeout: timeout, tls: tls)
        {
            guard case .success(let r) = result, r.status == 200 else { return nil }
            for line in r.bodyText.split(separator: "\n") where line.hasPrefix(prefix) {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
                else { continue }
                sums[String(line[..<space]), default: 0] += value
            }
        }
        return sums
    }

    /// A request to a node's internal endpoint with `body`, signed as `devcluster`.
    public static func request(
        _ method: String, _ target: String, key: ClusterKey, body: [UInt8] = []
    ) -> HTTPClientRequest {
        HTTPClientRequest(
            method: method, target: target,
            headers: key.sign(method: method, target: target, caller: "devcluster", body: body), body: body)
    }

    /// Sends one request to each target and returns the responses by target id (bodies up to
    /// `bodyBytesMax`); HTTPS targets are verified with `tls`.
    public static func send(
        _ requests: [(Target, HTTPClientRequest)], timeout: Duration, bodyBytesMax: Int? = nil, tls: TLSContext?
    ) -> [String: Result<HTTPClientResponse, ProbeError>] {
        var results: [String: Result<HTTPClientResponse, ProbeError>] = [:]
        guard let loop = try? EventLoop() else {
            for (t, _) in requests { results[t.id] = .failure(ProbeError(description: "cannot start an event loop")) }
            return results
        }
        var limits = HTTPClientLimits()
        limits.connectTimeout = min(limits.connectTimeout, timeout)
        if let bodyBytesMax { limits.responseBodyBytesMax = bodyBytesMax }
        let client = HTTPClient(loop: loop, limits: limits, tls: tls)
        var waiting = requests.count
        for (target, request) in requests {
            guard let endpoint = HTTPEndpoint(url: target.endpoint) else {
                results[target.id] = .failure(ProbeError(description: "bad endpoint \(target.endpoint)"))
                waiting -= 1
                continue
            }
            client.send(request, to: endpoint, timeout: timeout) { result in
                results[target.id] = result.mapError { ProbeError(description: $0.description) }
                waiting -= 1
                if waiting == 0 { client.close() }
            }
        }
        if waiting == 0 { client.close() }
        loop.run()
        loop.close()
        return results
    }
}

public struct ProbeError: Error, Equatable, CustomStringConvertible, Sendable {
    public var description: String
}
