import Testing

@testable import Cluster

@Suite("peer latency")
struct PeerLatencyTests {
    let nodes = (1...4).map { NodeID("node\($0)") }

    func latency(_ ms: [Int64], samples: Int = 10) -> PeerLatency {
        var l = PeerLatency()
        for _ in 0..<samples {
            for (node, t) in zip(nodes, ms) { l.record(node, .milliseconds(t)) }
        }
        return l
    }

    @Test("a node several times slower than the typical one is slow; noise on loopback is not")
    func slow() {
        let l = latency([1, 2, 2, 500])
        #expect(l.isSlow(nodes[3]))
        #expect(!l.isSlow(nodes[0]) && !l.isSlow(nodes[1]))
        // Everything a few ms: under the floor, nobody is slow.
        let idle = latency([1, 3, 9, 30])
        #expect(nodes.allSatisfy { !idle.isSlow($0) })
        // Two slow nodes of four: the typical one is still a fast one.
        let two = latency([1, 2, 500, 600])
        #expect(two.isSlow(nodes[2]) && two.isSlow(nodes[3]))
        #expect(!PeerLatency().isSlow(nodes[0]))
    }

    @Test("a node that gets fast again stops being slow within a few answers")
    func recovers() {
        var l = latency([1, 2, 2, 500])
        var answers = 0
        while l.isSlow(nodes[3]) {
            l.record(nodes[3], .milliseconds(2))
            answers += 1
        }
        #expect(answers > 1 && answers < 25)
    }

    @Test("the shard stall limit scales with the typical answer, within its bounds")
    func waits() {
        let cap = Duration.seconds(1)
        #expect(PeerLatency().shardStall(max: cap) == cap)
        #expect(latency([1, 2, 2, 500]).shardStall(max: cap) == PeerLatency.shardStallMin)
        #expect(latency([40, 50, 60, 900]).shardStall(max: cap) == .milliseconds(400))
        #expect(latency([400, 500, 600, 900]).shardStall(max: cap) == cap)
    }
}
