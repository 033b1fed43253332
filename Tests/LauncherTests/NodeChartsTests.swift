import Core
import Testing

@testable import Launcher

@Suite("console charts")
struct NodeChartsTests {
    let t0 = Instant(nanoseconds: 10_000_000_000)

    func metrics(requests: Int, inBytes: Int, outBytes: Int, buckets: [(String, Int)]) -> String {
        var text = """
            # TYPE devcluster_s3_requests_total counter
            devcluster_s3_requests_total{operation="GetObject",status="200"} \(requests - 1)
            devcluster_s3_requests_total{operation="PutObject",status="200"} 1
            devcluster_s3_received_bytes_total \(inBytes)
            devcluster_s3_sent_bytes_total \(outBytes)

            """
        for (le, n) in buckets {
            text += "devcluster_s3_request_duration_seconds_bucket{operation=\"GetObject\",le=\"\(le)\"} \(n)\n"
            text += "devcluster_s3_request_duration_seconds_bucket{operation=\"PutObject\",le=\"\(le)\"} 0\n"
        }
        return text
    }

    @Test("rates and the p99 come from the counters' growth over the interval, from the node's own metrics")
    func rates() {
        var charts = NodeCharts()
        let first = NodeCharts.sample(
            metrics: metrics(
                requests: 100, inBytes: 0, outBytes: 0, buckets: [("0.001", 50), ("0.01", 100), ("+Inf", 100)]),
            healed: 3, diskUsedBytes: 2e9, at: t0, wallMs: 1_000)
        #expect(first.requests == 100 && first.latency.map(\.bound) == [0.001, 0.01, .infinity])
        charts.add("node1", first)
        #expect(charts.points["node1"] == nil, "one sample is no rate yet")
        // Two seconds later: 200 more requests, 100 of them slower than 10 ms.
        let second = NodeCharts.sample(
            metrics: metrics(
                requests: 300, inBytes: 4_000_000, outBytes: 10_000_000,
                buckets: [("0.001", 50), ("0.01", 200), ("+Inf", 300)]),
            healed: 7, diskUsedBytes: 3e9, at: t0 + .seconds(2), wallMs: 3_000)
        charts.add("node1", second)
        let point = charts.points["node1"]?.last
        #expect(point?.requestsPerSecond == 100)
        #expect(point?.megabytesInPerSecond == 2 && point?.megabytesOutPerSecond == 5)
        #expect(point?.healedPerSecond == 2 && point?.diskUsedGigabytes == 3)
        #expect(point?.p99Milliseconds == 10, "past the last finite bucket: its bound")
        #expect(point?.wallMs == 3_000)
    }

    @Test("a restarted node (counters back to zero) and a node that did not answer start afresh; points are bounded")
    func restarts() {
        var charts = NodeCharts()
        func sample(_ requests: Double, _ second: Int64) -> NodeCharts.Sample {
            NodeCharts.Sample(
                at: t0 + .seconds(second), wallMs: second * 1000, requests: requests, bytesIn: 0, bytesOut: 0,
                latency: [], healed: 0, diskUsedBytes: nil)
        }
        charts.add("n", sample(100, 0))
        charts.add("n", sample(5, 1))
        #expect(charts.points["n"] == nil)
        charts.add("n", sample(15, 2))
        #expect(charts.points["n"]?.last?.requestsPerSecond == 10 && charts.points["n"]?.last?.p99Milliseconds == nil)
        charts.missed("n")
        charts.add("n", sample(1000, 3))
        #expect(charts.points["n"]?.count == 1)
        for s in 4..<Int64(4 + NodeCharts.pointsMax + 10) { charts.add("n", sample(Double(1000 + s), s)) }
        #expect(charts.points["n"]?.count == NodeCharts.pointsMax)
    }
}
