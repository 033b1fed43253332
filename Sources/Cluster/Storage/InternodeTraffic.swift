/// What this node has asked of its peers' stores since it started: calls by name, and the HTTP
/// requests that carried them (a batch carries several calls; a shard stream is one request). The
/// cost of an operation is mostly its number of requests, so `devcluster bench --verbose` reports
/// both per operation. Loop-bound.
public final class InternodeTraffic {
    public private(set) var calls: [String: Int64] = [:]
    public private(set) var requests: Int64 = 0

    public init() {}

    /// One call made (`name`: its path after the storage prefix).
    func call(_ name: Substring) {
        calls[String(name), default: 0] += 1
    }

    /// One request sent.
    func request() {
        requests += 1
    }

    /// Starts counting afresh.
    public func reset() {
        calls = [:]
        requests = 0
    }
}
