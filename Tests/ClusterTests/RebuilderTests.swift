import Core
import Loop
import Storage
import Testing

@testable import Cluster

/// A node that starts with an empty folder decides, from what its peers hold, whether the cluster is
/// new or it lost its disk. Over real sockets (`TestCluster`): node1 decides, with buckets placed on
/// the disks directly.
@Suite("an empty folder: a new deployment or a lost disk")
struct RebuilderDecisionTests {
    /// Node1's decision once it is made, for a folder formatted at `formattedAt`.
    func decision(_ c: TestCluster, formattedAt: WallTime) -> Rebuilder.Phase {
        let rebuilder = Rebuilder(
            layer: c.layer, local: c.locals[0], formattedAt: formattedAt, saved: nil, log: .discarding(),
            emit: { _ in })
        c.run { done in
            func step() {
                rebuilder.tick(now: c.loop.iterationTime)
                guard rebuilder.phase == .deciding else { return done() }
                try! Timer.once(c.loop, .milliseconds(10)) { step() }
            }
            step()
        }
        return rebuilder.phase
    }

    let now = WallTime.now().millisecondsSinceEpoch

    @Test("peers with no bucket at all: a new cluster")
    func empty() throws {
        let c = try TestCluster(nodes: 4)
        defer { c.close() }
        #expect(decision(c, formattedAt: WallTime(millisecondsSinceEpoch: now)) == .whole)
    }

    @Test("a bucket every node took while deciding: a new cluster")
    func firstBucketEveryNodeTook() throws {
        let c = try TestCluster(nodes: 4)
        defer { c.close() }
        for disk in c.disks { try disk.makeBucket("first", created: now + 100) }
        #expect(decision(c, formattedAt: WallTime(millisecondsSinceEpoch: now)) == .whole)
    }

    /// A wiped node gets its buckets back from the peers' replay of the writes it missed while it was
    /// down, before it has decided (the rebuild scenario of make test caught this).
    @Test("an old bucket this node already got back still means its disk was lost")
    func oldBucketGotBack() throws {
        let c = try TestCluster(nodes: 4)
        defer { c.close() }
        for disk in c.disks { try disk.makeBucket("photos", created: now - 60_000) }
        #expect(decision(c, formattedAt: WallTime(millisecondsSinceEpoch: now)) == .counting)
    }

    @Test("a bucket the peers made after this folder, that this node lacks: a new cluster (journaled for it)")
    func youngBucketOnPeersOnly() throws {
        let c = try TestCluster(nodes: 4)
        defer { c.close() }
        for disk in c.disks.dropFirst() { try disk.makeBucket("young", created: now + 1_000) }
        #expect(decision(c, formattedAt: WallTime(millisecondsSinceEpoch: now)) == .whole)
    }

    @Test("a bucket older than the folder that this node lacks: its disk was lost, it rebuilds")
    func oldBucketOnPeersOnly() throws {
        let c = try TestCluster(nodes: 4)
        defer { c.close() }
        try c.disks[0].makeBucket("kept", created: now - 60_000)
        for disk in c.disks.dropFirst() {
            try disk.makeBucket("kept", created: now - 60_000)
            try disk.makeBucket("lost", created: now - 60_000)
        }
        #expect(decision(c, formattedAt: WallTime(millisecondsSinceEpoch: now)) == .counting)
    }

    @Test("within the clock allowance a bucket counts as made after the folder; past it, before")
    func clockAllowance() throws {
        let edge = now - Rebuilder.clockSkewAllowance.milliseconds
        for (created, expected) in [(edge, Rebuilder.Phase.whole), (edge - 1, .counting)] {
            let c = try TestCluster(nodes: 4)
            defer { c.close() }
            for disk in c.disks.dropFirst() { try disk.makeBucket("edge", created: created) }
            #expect(decision(c, formattedAt: WallTime(millisecondsSinceEpoch: now)) == expected, "\(created)")
        }
    }
}
