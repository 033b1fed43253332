import Core
import Testing

@testable import Cluster

/// Several nodes' failure detectors on one thread, with a simulated network (delay, loss, partitions,
/// crashes) and a manual clock: the detector's promises checked over many seeded runs. A failing run
/// names its seed.
struct Simulation {
    struct Message {
        var deliverAt: Instant
        var from: NodeID
        var to: NodeID
        var isReply: Bool
        var incarnation: UInt64
    }

    let timing: HeartbeatTiming
    let nodes: [NodeID]
    var detectors: [NodeID: FailureDetector] = [:]
    var incarnations: [NodeID: UInt64] = [:]
    var crashed: Set<NodeID> = []
    var cut: Set<[NodeID]> = []  // directed links that drop everything
    var lossRate: Double = 0
    var delayMax: Duration = .milliseconds(20)
    var inbox: [Message] = []
    var now: Instant
    var rng: SeededGenerator
    var log: [(Instant, NodeID, FailureDetector.Transition)] = []

    init(nodes count: Int, timing: HeartbeatTiming, seed: UInt64) {
        self.timing = timing
        nodes = (0..<count).map { NodeID.forIndex($0) }
        now = Instant(nanoseconds: 1_000_000_000)
        rng = SeededGenerator(seed: seed)
        for n in nodes {
            detectors[n] = FailureDetector(peers: nodes.filter { $0 != n }, timing: timing, now: now)
            incarnations[n] = 1
        }
    }

    mutating func send(from: NodeID, to: NodeID, isReply: Bool) {
        if crashed.contains(from) || cut.contains([from, to]) { return }
        if Double(rng.next() % 10_000) / 10_000 < lossRate { return }
        let delay = Duration.nanoseconds(Int64(rng.next() % UInt64(delayMax.nanoseconds + 1)))
        inbox.append(
            Message(deliverAt: now + delay, from: from, to: to, isReply: isReply, incarnation: incarnations[from]!))
    }

    /// Runs for `duration` in 10 ms steps: every node sends a heartbeat to every peer each interval; a
    /// heartbeat is answered; undelivered requests count as failed calls after the request timeout.
    mutating func run(for duration: Duration) {
        let end = now + duration
        let step = Duration.milliseconds(10)
        var nextBeat = now
        var outstanding: [[NodeID]: Instant] = [:]
        while now < end {
            now = now + step
            let due = inbox.filter { $0.deliverAt <= now }
            inbox.removeAll { $0.deliverAt <= now }
            for m in due where !crashed.contains(m.to) {
                record(m.to, detectors[m.to]!.heard(from: m.from, incarnation: m.incarnation, at: now))
                if m.isReply {
                    outstanding[[m.to, m.from]] = nil
                } else {
                    send(from: m.to, to: m.from, isReply: true)
                }
            }
            for (link, sentAt) in outstanding where now.since(sentAt) >= timing.requestTimeout {
                outstanding[link] = nil
                if !crashed.contains(link[0]) {
                    record(link[0], detectors[link[0]]!.callFailed(to: link[1], reason: "timeout", at: now))
                }
            }
            if now >= nextBeat {
                nextBeat = now + timing.interval
                for a in nodes where !crashed.contains(a) {
                    for b in nodes where b != a && outstanding[[a, b]] == nil {
                        outstanding[[a, b]] = now
                        send(from: a, to: b, isReply: false)
                    }
                }
            }
            for n in nodes where !crashed.contains(n) {
                record(n, detectors[n]!.tick(now: now))
            }
        }
    }

    mutating func record(_ node: NodeID, _ transitions: [FailureDetector.Transition]) {
        for t in transitions { log.append((now, node, t)) }
    }

    func view(of node: NodeID, about peer: NodeID) -> FailureDetector.State {
        detectors[node]!.state(of: peer)
    }

    mutating func restart(_ node: NodeID) {
        crashed.remove(node)
        incarnations[node]! += 1
        detectors[node] = FailureDetector(peers: nodes.filter { $0 != node }, timing: timing, now: now)
    }
}

@Suite("membership simulation")
struct MembershipSimulationTests {
    static let seeds: [UInt64] = Array(1...25)

    @Test("with a healthy network every node sees every other online, and stays so", arguments: seeds)
    func healthy(seed: UInt64) {
        var sim = Simulation(nodes: 5, timing: .init(), seed: seed)
        sim.run(for: .seconds(2))
        let warm = sim.log.count
        sim.run(for: .seconds(20))
        for a in sim.nodes {
            for b in sim.nodes where a != b {
                #expect(
                    sim.view(of: a, about: b) == .online, "seed \(seed): \(a) sees \(b) as \(sim.view(of: a, about: b))"
                )
            }
        }
        #expect(
            sim.log.count == warm,
            "seed \(seed): transitions without faults: \(sim.log.dropFirst(warm).map { "\($0.1): \($0.2)" })")
    }

    @Test("a crashed node is offline in every survivor's view within dead-after plus one interval", arguments: seeds)
    func crash(seed: UInt64) {
        let timing = HeartbeatTiming()
        var sim = Simulation(nodes: 4, timing: timing, seed: seed)
        sim.run(for: .seconds(3))
        sim.crashed.insert("node2")
        let crashedAt = sim.now
        sim.run(for: timing.deadAfter + timing.interval)
        for n in sim.nodes where n != "node2" {
            #expect(
                sim.view(of: n, about: "node2") == .offline,
                "seed \(seed): \(n) sees node2 \(sim.view(of: n, about: "node2"))")
            let offlineAt = sim.log.first { $0.1 == n && $0.2 == .offline("node2", reason: $0.2.reasonText) }?.0
            if let offlineAt { #expect(offlineAt.since(crashedAt) <= timing.deadAfter + timing.interval) }
        }
    }

    @Test("a restarted node is seen online again and as restarted by everyone", arguments: seeds)
    func restart(seed: UInt64) {
        var sim = Simulation(nodes: 4, timing: .demo, seed: seed)
        sim.run(for: .seconds(1))
        sim.crashed.insert("node3")
        sim.run(for: .seconds(2))
        sim.restart("node3")
        sim.run(for: .seconds(1))
        for n in sim.nodes where n != "node3" {
            #expect(sim.view(of: n, about: "node3") == .online, "seed \(seed)")
            #expect(
                sim.log.contains { $0.1 == n && $0.2 == .restarted("node3", previousIncarnation: 1, incarnation: 2) },
                "seed \(seed)")
        }
    }

    @Test("a 2/2 partition makes each side see the other offline; healing brings everyone back", arguments: seeds)
    func partition(seed: UInt64) {
        var sim = Simulation(nodes: 4, timing: .demo, seed: seed)
        sim.run(for: .seconds(1))
        let left: [NodeID] = ["node1", "node2"]
        let right: [NodeID] = ["node3", "node4"]
        for a in left {
            for b in right {
                sim.cut.insert([a, b])
                sim.cut.insert([b, a])
            }
        }
        sim.run(for: .seconds(2))
        for a in left {
            for b in right {
                #expect(sim.view(of: a, about: b) == .offline, "seed \(seed)")
                #expect(sim.view(of: b, about: a) == .offline, "seed \(seed)")
            }
        }
        #expect(sim.view(of: "node1", about: "node2") == .online, "seed \(seed)")
        sim.cut = []
        sim.run(for: .milliseconds(600))
        for a in sim.nodes {
            for b in sim.nodes where a != b {
                #expect(
                    sim.view(of: a, about: b) == .online,
                    "seed \(seed): \(a) sees \(b) \(sim.view(of: a, about: b)) after healing")
            }
        }
    }

    @Test("5% message loss causes suspicion at most, never a false offline", arguments: seeds)
    func lossy(seed: UInt64) {
        var sim = Simulation(nodes: 4, timing: .init(), seed: seed)
        sim.lossRate = 0.05
        sim.run(for: .seconds(30))
        let falseOffline = sim.log.filter { if case .offline = $0.2 { true } else { false } }
        // Offline needs 3 s of silence in both directions: about 1e-7 per peer-interval at 5% loss.
        #expect(falseOffline.isEmpty, "seed \(seed): \(falseOffline.map { "\($0.1): \($0.2)" })")
    }

    @Test(
        "under 20% loss views may flap, and all come back online within two intervals once loss stops", arguments: seeds
    )
    func heavyLossRecovers(seed: UInt64) {
        let timing = HeartbeatTiming()
        var sim = Simulation(nodes: 4, timing: timing, seed: seed)
        sim.lossRate = 0.2
        sim.run(for: .seconds(30))
        sim.lossRate = 0
        sim.run(for: timing.interval * 2)
        for a in sim.nodes {
            for b in sim.nodes where a != b {
                #expect(
                    sim.view(of: a, about: b) == .online, "seed \(seed): \(a) sees \(b) \(sim.view(of: a, about: b))")
            }
        }
    }
}

extension FailureDetector.Transition {
    var reasonText: String {
        switch self {
        case .suspect(_, let r), .offline(_, let r): r
        default: ""
        }
    }
}
