import Core
import Testing

@testable import Launcher

@Suite("chaos bodies")
struct ChaosBodyTests {
    @Test("a body reads back as the write that made it")
    func roundTrip() {
        let body = ChaosBody.make(key: "small-1", write: "c2-7", bytes: 5000, seed: 9)
        #expect((4800...5000).contains(body.count))
        #expect(ChaosBody.read(body, key: "small-1") == .intact(write: "c2-7"))
    }

    @Test("a flipped byte, a cut body and another key's body are damaged")
    func damage() {
        var body = ChaosBody.make(key: "k", write: "c0-1", bytes: 1000, seed: 1)
        var flipped = body
        flipped[900] ^= 1
        for bad in [flipped, Array(body.prefix(700)), Array("nothing here".utf8)] {
            guard case .damaged = ChaosBody.read(bad, key: "k") else {
                Issue.record("\(bad.count) bytes read as intact")
                continue
            }
        }
        #expect(ChaosBody.read(body, key: "other") != .intact(write: "c0-1"))
        body.removeAll()
        #expect(ChaosBody.read(body, key: "k") != .intact(write: "c0-1"))
    }
}

@Suite("chaos history check")
struct ChaosHistoryTests {
    /// w1 acknowledged at 10, w2 from 20 to 30; reads of `key` between `began` and `ended`.
    func history(secondAcked: Bool = true) -> ChaosHistory {
        var h = ChaosHistory()
        h.acknowledge(h.begin(write: "w1", key: "k", isDelete: false, at: 0), at: 10)
        let w2 = h.begin(write: "w2", key: "k", isDelete: false, at: 20)
        if secondAcked { h.acknowledge(w2, at: 30) }
        return h
    }

    func read(
        _ result: ChaosHistory.ReadResult, _ began: Int64, _ ended: Int64, final: Bool = false
    )
        -> ChaosHistory.Read
    {
        ChaosHistory.Read(key: "k", began: began, ended: ended, result: result, isFinal: final, node: "node1")
    }

    @Test("a read of the newest or a concurrent write is fine")
    func linearizable() {
        var h = history()
        h.record(read(.value(write: "w2"), 40, 41))
        h.record(read(.value(write: "w1"), 25, 26))  // during w2: either value
        h.record(read(.value(write: "w2"), 25, 26))
        h.record(read(.absent, 5, 6))  // before w1 was acknowledged
        h.record(read(.failed("timeout"), 40, 50))
        #expect(h.check().isEmpty)
    }

    @Test("a read of a replaced value after the replacement ended is stale")
    func stale() {
        var h = history()
        h.record(read(.value(write: "w1"), 31, 32))
        h.record(read(.absent, 31, 32))
        #expect(h.check().map(\.kind) == [.staleRead, .staleRead])
    }

    @Test("a write never acknowledged replaces nothing until a read returns it, and may show up late")
    func unacknowledged() {
        var h = history(secondAcked: false)
        h.record(read(.value(write: "w1"), 100, 101))  // w2 not taken (yet)
        h.record(read(.value(write: "w2"), 200, 201))  // taken late
        h.record(read(.value(write: "w2"), 300, 301, final: true))
        #expect(h.check().isEmpty)
    }

    @Test("bytes never written, or not yet, are phantoms; damaged bytes are wrong")
    func phantomAndDamaged() {
        var h = history()
        h.record(read(.value(write: "w9"), 40, 41))
        h.record(read(.value(write: "w2"), 12, 15))
        h.record(read(.damaged("SHA-256 mismatch"), 40, 41))
        #expect(h.check().map(\.kind) == [.phantomRead, .phantomRead, .wrongBytes])
    }

    @Test("after the heal, the last acknowledged write must be there and readable")
    func finalReads() {
        var h = history()
        h.record(read(.value(write: "w2"), 100, 101, final: true))
        h.record(read(.value(write: "w1"), 100, 101, final: true))
        h.record(read(.absent, 100, 101, final: true))
        h.record(read(.failed("HTTP 503"), 100, 101, final: true))
        #expect(h.check().map(\.kind) == [.lostWrite, .lostWrite, .unreadable])
    }

    @Test("an acknowledged delete makes absent right and the old value stale")
    func deletes() {
        var h = history()
        h.acknowledge(h.begin(write: "d", key: "k", isDelete: true, at: 40), at: 50)
        h.record(read(.absent, 60, 61))
        h.record(read(.value(write: "w2"), 45, 46))  // during the delete
        h.record(read(.value(write: "w2"), 60, 61))
        #expect(h.check().map(\.kind) == [.staleRead])
    }
}

@Suite("nemesis plan")
struct NemesisPlanTests {
    let nodes = ["node1", "node2", "node3", "node4"]

    @Test("no round breaks more than parity nodes, and none breaks a node twice")
    func budget() {
        var g = SeededGenerator(seed: 3)
        for parity in 1...2 {
            for _ in 0..<500 {
                let steps = NemesisPlan.round(nodes: nodes, parity: parity, faults: ChaosFault.allCases, using: &g)
                let touched = steps.flatMap(\.nodes)
                #expect(!steps.isEmpty)
                #expect(touched.count <= parity)
                #expect(Set(touched).count == touched.count)
                #expect(steps.allSatisfy { NemesisPlan.holdMs.contains($0.holdMs) })
            }
        }
    }

    @Test("the same seed makes the same rounds")
    func replayable() {
        var a = SeededGenerator(seed: 11)
        var b = SeededGenerator(seed: 11)
        for _ in 0..<20 {
            #expect(
                NemesisPlan.round(nodes: nodes, parity: 2, faults: ChaosFault.allCases, using: &a)
                    == NemesisPlan.round(nodes: nodes, parity: 2, faults: ChaosFault.allCases, using: &b))
        }
    }

    @Test("fault lists parse; unknown names are refused")
    func parse() {
        #expect(NemesisPlan.parseFaults("kill,partition") == [.kill, .isolate, .split])
        #expect(NemesisPlan.parseFaults(nil) == ChaosFault.allCases)
        #expect(NemesisPlan.parseFaults("disk-full") == [.diskFull])
        #expect(NemesisPlan.parseFaults("kill,nuke") == nil)
    }
}

@Suite("chaos history check: writes seen before they were acknowledged")
struct ChaosHistorySeenTests {
    @Test("a read that goes back to what a seen, unacknowledged write replaced is a dirty read")
    func nonMonotonic() {
        var h = ChaosHistory()
        h.acknowledge(h.begin(write: "w1", key: "k", isDelete: false, at: 0), at: 10)
        _ = h.begin(write: "w2", key: "k", isDelete: false, at: 20)  // never acknowledged
        func read(_ id: String, _ began: Int64, _ ended: Int64) -> ChaosHistory.Read {
            .init(key: "k", began: began, ended: ended, result: .value(write: id), isFinal: false, node: "node1")
        }
        h.record(read("w2", 25, 30))
        h.record(read("w1", 26, 29))  // overlaps the read that saw w2: fine
        h.record(read("w1", 40, 41))  // after w2 was seen: w1 was replaced
        #expect(h.check().map(\.kind) == [.dirtyRead])
        #expect(h.check().allSatisfy { !$0.breaksPromise })
    }
}
