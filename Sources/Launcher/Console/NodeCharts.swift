import Core

/// The console's live charts: each node's counters sampled once a second (from its metrics and
/// status), turned into rates over the last minutes. Pure: the caller gives the samples and the time.
public struct NodeCharts: Sendable {
    /// What one probe read from one node: cumulative counters and gauges.
    public struct Sample: Sendable, Equatable {
        public var at: Instant
        /// The same moment by the wall clock, for the page's time axis.
        public var wallMs: Int64
        public var requests: Double
        public var bytesIn: Double
        public var bytesOut: Double
        /// The S3 latency histogram, summed over operations: (upper bound in seconds, cumulative count).
        public var latency: [(bound: Double, count: Double)]
        public var healed: Double
        public var diskUsedBytes: Double?

        public init(
            at: Instant, wallMs: Int64, requests: Double, bytesIn: Double, bytesOut: Double,
            latency: [(bound: Double, count: Double)],
            healed: Double, diskUsedBytes: Double?
        ) {
            self.at = at
            self.wallMs = wallMs
            self.requests = requests
            self.bytesIn = bytesIn
            self.bytesOut = bytesOut
            self.latency = latency
            self.healed = healed
            self.diskUsedBytes = diskUsedBytes
        }

        public static func == (a: Sample, b: Sample) -> Bool {
            a.at == b.at && a.requests == b.requests && a.bytesIn == b.bytesIn && a.bytesOut == b.bytesOut
                && a.healed == b.healed && a.diskUsedBytes == b.diskUsedBytes
                && a.latency.map(\.bound) == b.latency.map(\.bound) && a.latency.map(\.count) == b.latency.map(\.count)
        }
    }

    /// One point of a node's charts: rates over the interval that ended at `at`.
    public struct Point: Sendable, Equatable {
        public var wallMs: Int64
        public var requestsPerSecond: Double
        public var megabytesInPerSecond: Double
        public var megabytesOutPerSecond: Double
        /// The 99th percentile of the interval's S3 latencies (the histogram bucket's bound), nil when
        /// no request ended in it.
        public var p99Milliseconds: Double?
        public var healedPerSecond: Double
        public var diskUsedGigabytes: Double?
    }

    /// Points kept per node (three minutes at one a second).
    public static let pointsMax = 180

    public private(set) var points: [String: [Point]] = [:]
    private var last: [String: Sample] = [:]

    public init() {}

    /// Adds `sample` of `node`. A counter that went down (the node restarted) starts the node afresh.
    public mutating func add(_ node: String, _ sample: Sample) {
        defer { last[node] = sample }
        guard let previous = last[node], sample.at > previous.at, sample.requests >= previous.requests else {
            return
        }
        let seconds = Double(sample.at.since(previous.at).nanoseconds) / 1e9
        func rate(_ a: Double, _ b: Double) -> Double { max(0, b - a) / seconds }
        let point = Point(
            wallMs: sample.wallMs, requestsPerSecond: rate(previous.requests, sample.requests),
            megabytesInPerSecond: rate(previous.bytesIn, sample.bytesIn) / 1e6,
            megabytesOutPerSecond: rate(previous.bytesOut, sample.bytesOut) / 1e6,
            p99Milliseconds: NodeCharts.p99(from: previous.latency, to: sample.latency).map { $0 * 1000 },
            healedPerSecond: rate(previous.healed, sample.healed),
            diskUsedGigabytes: sample.diskUsedBytes.map { $0 / 1e9 })
        points[node, default: []].append(point)
        if points[node]!.count > NodeCharts.pointsMax { points[node]!.removeFirst() }
    }

    /// Records that `node` did not answer: a gap in its lines.
    public mutating func missed(_ node: String) { last[node] = nil }

    /// The bound of the bucket the 99th percentile of the requests between two histograms falls in.
    static func p99(
        from before: [(bound: Double, count: Double)], to after: [(bound: Double, count: Double)]
    )
        -> Double?
    {
        let earlier = Dictionary(before.map { ($0.bound, $0.count) }, uniquingKeysWith: +)
        let deltas = after.sorted { $0.bound < $1.bound }.map {
            ($0.bound, max(0, $0.count - (earlier[$0.bound] ?? 0)))
        }
        guard let total = deltas.last?.1, total > 0, let bound = deltas.first(where: { $0.1 >= 0.99 * total })?.0
        else { return nil }
        // Past the last finite bucket all one can say is "more than it".
        return bound.isFinite ? bound : deltas.last { $0.0.isFinite }?.0
    }

    /// A sample from a node's Prometheus text (`/_dc/metrics`) and its status.
    public static func sample(
        metrics: String, healed: Int?, diskUsedBytes: Double?, at: Instant, wallMs: Int64
    ) -> Sample {
        var requests = 0.0
        var bytesIn = 0.0
        var bytesOut = 0.0
        var buckets: [Double: Double] = [:]
        for line in metrics.split(separator: "\n") where line.hasPrefix("devcluster_s3_") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let name = line[..<space]
            if name.hasPrefix("devcluster_s3_requests_total") {
                requests += value
            } else if name == "devcluster_s3_received_bytes_total" {
                bytesIn = value
            } else if name == "devcluster_s3_sent_bytes_total" {
                bytesOut = value
            } else if name.hasPrefix("devcluster_s3_request_duration_seconds_bucket"),
                let le = name.firstRange(of: "le=\""), let end = name[le.upperBound...].firstIndex(of: "\"")
            {
                let text = name[le.upperBound..<end]
                let bound = text == "+Inf" ? Double.infinity : Double(text)
                if let bound { buckets[bound, default: 0] += value }
            }
        }
        return Sample(
            at: at, wallMs: wallMs, requests: requests, bytesIn: bytesIn, bytesOut: bytesOut,
            latency: buckets.sorted { $0.key < $1.key }.map { (bound: $0.key, count: $0.value) },
            healed: Double(healed ?? 0), diskUsedBytes: diskUsedBytes)
    }
}
