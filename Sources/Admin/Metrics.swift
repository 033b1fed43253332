import Core

/// The node's Prometheus metrics (`GET /_dc/metrics`, text exposition format 0.0.4): counters and
/// histograms recorded as requests end, gauges read at scrape time. Loop-bound.
public final class Metrics {
    /// Request latency buckets, seconds.
    public static let latencyBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var counts = [Int64](repeating: 0, count: Metrics.latencyBuckets.count)
        var sum = 0.0
        var count: Int64 = 0

        mutating func observe(_ seconds: Double) {
            for (i, bound) in Metrics.latencyBuckets.enumerated() where seconds <= bound { counts[i] += 1 }
            sum += seconds
            count += 1
        }
    }

    private var requests: [String: Int64] = [:]  // "operation\u{0}status"
    private var latency: [String: Histogram] = [:]
    private var bytesIn: Int64 = 0
    private var bytesOut: Int64 = 0
    private var events: [String: Int64] = [:]

    public init() {}

    /// One S3 request that ended.
    public func recordRequest(operation: String, status: Int, seconds: Double, received: Int64, sent: Int64) {
        requests[operation + "\u{0}" + String(status), default: 0] += 1
        latency[operation, default: Histogram()].observe(seconds)
        bytesIn += received
        bytesOut += sent
    }

    /// One event of the timeline (bitrot_detected, node_offline ...), counted by kind.
    public func recordEvent(_ kind: EventKind) {
        events[kind.rawValue, default: 0] += 1
    }

    /// A value read at scrape time: name, help, type, and samples (labels, value). A counter kept by
    /// another part of the node (it only grows) is read the same way, typed `counter`.
    public struct Gauge {
        public var name: String
        public var help: String
        public var samples: [(labels: [(String, String)], value: Double)]
        public var isCounter = false

        public init(
            _ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)],
            counter: Bool = false
        ) {
            self.name = name
            self.help = help
            self.samples = samples
            isCounter = counter
        }

        public init(_ name: String, _ help: String, _ value: Double, counter: Bool = false) {
            self.init(name, help, [([], value)], counter: counter)
        }
    }

    /// The exposition text, with `gauges` read by the caller now.
    public func render(gauges: [Gauge]) -> String {
        var out = ""
        func header(_ name: String, _ help: String, _ type: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        header("devcluster_s3_requests_total", "S3 requests answered, by operation and HTTP status.", "counter")
        for (key, n) in requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false)
            out +=
                "devcluster_s3_requests_total\(Metrics.labels([("operation", String(parts[0])), ("status", String(parts[1]))])) \(n)\n"
        }
        header("devcluster_s3_request_duration_seconds", "S3 request latency, by operation.", "histogram")
        for (operation, h) in latency.sorted(by: { $0.key < $1.key }) {
            for (i, bound) in Metrics.latencyBuckets.enumerated() {
                out +=
                    "devcluster_s3_request_duration_seconds_bucket\(Metrics.labels([("operation", operation), ("le", Metrics.number(bound))])) \(h.counts[i])\n"
            }
            out +=
                "devcluster_s3_request_duration_seconds_bucket\(Metrics.labels([("operation", operation), ("le", "+Inf")])) \(h.count)\n"
            out +=
                "devcluster_s3_request_duration_seconds_sum\(Metrics.labels([("operation", operation)])) \(Metrics.number(h.sum))\n"
            out +=
                "devcluster_s3_request_duration_seconds_count\(Metrics.labels([("operation", operation)])) \(h.count)\n"
        }
        header("devcluster_s3_received_bytes_total", "Request body bytes received by S3 requests.", "counter")
        out += "devcluster_s3_received_bytes_total \(bytesIn)\n"
        header("devcluster_s3_sent_bytes_total", "Response body bytes sent by S3 requests.", "counter")
        out += "devcluster_s3_sent_bytes_total \(bytesOut)\n"
        header(
            "devcluster_events_total", "Events this node reported, by kind (node_offline, bitrot_detected ...).",
            "counter")
        for (kind, n) in events.sorted(by: { $0.key < $1.key }) {
            out += "devcluster_events_total\(Metrics.labels([("event", kind)])) \(n)\n"
        }
        for g in gauges {
            header(g.name, g.help, g.isCounter ? "counter" : "gauge")
            for s in g.samples { out += "\(g.name)\(Metrics.labels(s.labels)) \(Metrics.number(s.value))\n" }
        }
        return out
    }

    static func labels(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        let escaped = pairs.map { name, value in
            var v = ""
            for c in value {
                switch c {
                case "\\": v += "\\\\"
                case "\"": v += "\\\""
                case "\n": v += "\\n"
                default: v.append(c)
                }
            }
            return "\(name)=\"\(v)\""
        }
        return "{" + escaped.joined(separator: ",") + "}"
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}
