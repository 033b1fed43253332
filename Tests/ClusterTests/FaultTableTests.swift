import Core
import Testing

@testable import Cluster

@Suite("fault table")
struct FaultTableTests {
    let now = WallTime(millisecondsSinceEpoch: 1_000_000)

    func act(
        _ table: FaultTable, _ from: String, _ to: String, roll: Double = 0.5, jitter: Double = 0
    )
        -> FaultTable.Action
    {
        table.action(from: from, to: to, at: now, roll: roll, jitter: jitter)
    }

    @Test("a rule acts on its directed link only")
    func directed() {
        let table = FaultTable(version: 1, rules: [FaultRule(from: "node1", to: "node2", mode: .drop)])
        #expect(act(table, "node1", "node2") == .drop)
        #expect(act(table, "node2", "node1") == .pass)
        #expect(act(table, "node1", "node3") == .pass)
    }

    @Test("refusal beats drop beats delay; delays on one link add up; jitter stays within its bound")
    func precedence() {
        var table = FaultTable(rules: [
            FaultRule(from: "a", to: "b", mode: .delay, delayMs: 100, jitterMs: 20),
            FaultRule(from: "a", to: "b", mode: .delay, delayMs: 50),
        ])
        #expect(act(table, "a", "b", jitter: 0) == .delay(.milliseconds(150)))
        #expect(act(table, "a", "b", jitter: 1) == .delay(.milliseconds(170)))
        #expect(act(table, "a", "b", jitter: -7) == .delay(.milliseconds(130)))
        table.rules.append(FaultRule(from: "a", to: "b", mode: .drop))
        #expect(act(table, "a", "b") == .drop)
        table.rules.append(FaultRule(from: "a", to: "b", mode: .reject))
        #expect(act(table, "a", "b") == .reject)
    }

    @Test("loss drops the share of requests its probability says")
    func loss() {
        let table = FaultTable(rules: [FaultRule(from: "a", to: "b", mode: .loss, probability: 0.3)])
        #expect(act(table, "a", "b", roll: 0.29) == .drop)
        #expect(act(table, "a", "b", roll: 0.3) == .pass)
        let dropped = (0..<1000).filter { act(table, "a", "b", roll: Double($0) / 1000) == .drop }.count
        #expect(dropped == 300)
    }

    @Test("a rule with an expiry ends by the clock")
    func expiry() {
        let rule = FaultRule(from: "a", to: "b", mode: .drop, expiresAt: now.millisecondsSinceEpoch + 10)
        let table = FaultTable(rules: [rule])
        #expect(act(table, "a", "b") == .drop)
        let later = WallTime(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 10)
        #expect(table.action(from: "a", to: "b", at: later, roll: 0, jitter: 0) == .pass)
        #expect(table.active(at: later).isEmpty && table.touches("b", at: now) && !table.touches("c", at: now))
    }

    @Test("a full disk is a node's own fault, not a link's")
    func diskFull() {
        let table = FaultTable(rules: [
            FaultRule(from: "node2", to: "node2", mode: .diskFull, expiresAt: now.millisecondsSinceEpoch + 5)
        ])
        #expect(table.isDiskFull("node2", at: now) && !table.isDiskFull("node1", at: now))
        #expect(act(table, "node2", "node2") == .pass && act(table, "node1", "node2") == .pass)
        #expect(!table.isDiskFull("node2", at: WallTime(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 5)))
        #expect(table.rules[0].description == "node2 disk-full")
    }

    @Test("huge delays are held to an hour, never overflow")
    func hugeDelays() {
        let table = FaultTable(rules: [
            FaultRule(from: "a", to: "b", mode: .delay, delayMs: .max, jitterMs: .max),
            FaultRule(from: "a", to: "b", mode: .delay, delayMs: .max),
        ])
        #expect(act(table, "a", "b", jitter: 1) == .delay(.milliseconds(FaultRule.delayMsMax)))
        #expect(act(table, "a", "b", jitter: -1) == .delay(.milliseconds(FaultRule.delayMsMax)))
    }
}
