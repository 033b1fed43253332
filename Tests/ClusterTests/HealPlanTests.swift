import Storage
import Testing

@testable import Cluster

@Suite("heal planning")
struct HealPlanTests {
    let set = try! ErasureSet(nodes: 4, parity: 2)
    let now: Int64 = 100 * 60 * 1000

    func version(_ time: Int64, shard: Int = 0) -> ObjectVersion {
        ObjectVersion(
            versionID: "null", modTime: time, size: 10, etag: "e\(time)",
            erasure: ErasureInfo(
                dataShards: 2, parityShards: 2, blockSize: 1 << 20, index: shard, distribution: [0, 1, 2, 3]),
            dataDir: "0a0a")
    }

    func has(_ v: ObjectVersion) -> Result<ObjectMetadata, StoreError> { .success(ObjectMetadata(versions: [v])) }
    let missing: Result<ObjectMetadata, StoreError> = .failure(.storage(.objectNotFound(bucket: "b", key: "k")))
    let down: Result<ObjectMetadata, StoreError> = .failure(.unreachable("down"))

    func answers(_ r: [Result<ObjectMetadata, StoreError>]) -> [NodeID: Result<ObjectMetadata, StoreError>] {
        Dictionary(uniqueKeysWithValues: r.enumerated().map { (NodeID.forIndex($0.offset), $0.element) })
    }

    @Test("a node that missed the latest write is rebuilt from the nodes that hold it; unreachable ones wait")
    func missedWrite() {
        let v = version(now)
        let plan = HealPlan.plan(answers([has(v), missing, has(v), down]), set: set, now: now)
        guard case .rebuild(let chosen, let sources, let targets) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(chosen.sameWrite(as: v) && targets == ["node2"] && Set(sources.keys) == ["node1", "node3"])
    }

    @Test("copies of one write with older tags take the newest; reads see the newest tags at once")
    func staleAttributes() {
        let v = version(now)
        var tagged = v
        tagged.tags = ["k": "new"]
        tagged.attributesTime = now + 5
        let all = answers([has(tagged), has(v), has(tagged), has(v)])
        guard case .attributes(let chosen, let targets) = HealPlan.plan(all, set: set, now: now) else {
            Issue.record("expected an attributes heal")
            return
        }
        #expect(chosen.tags == ["k": "new"] && targets == ["node2", "node4"])
        guard case .found(let read, _) = Quorum.resolve(all, set: set) else {
            Issue.record("found")
            return
        }
        #expect(read.tags == ["k": "new"], "of copies of one write, the one changed last speaks")
        #expect(
            HealPlan.plan(answers([has(tagged), has(tagged), has(tagged), has(tagged)]), set: set, now: now) == .nothing
        )
    }

    @Test("a stale version is rebuilt with the latest; a corrupt shard is a target, never a source")
    func staleAndCorrupt() {
        let v = version(now)
        let plan = HealPlan.plan(
            answers([has(v), has(version(now - 5)), has(v), has(v)]), set: set, corrupt: ["node3"], now: now)
        guard case .rebuild(_, let sources, let targets) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(targets == ["node2", "node3"] && Set(sources.keys) == ["node1", "node4"])
    }

    @Test("with fewer than k good shards left nothing can be rebuilt")
    func unrecoverable() {
        let v = version(now)
        let plan = HealPlan.plan(answers([has(v), has(v), missing, missing]), set: set, corrupt: ["node1"], now: now)
        #expect(plan == .unrecoverable(version: v, good: 1, needed: 2))
    }

    @Test("a healing node's silence proves nothing: it is healed, not believed")
    func healingNode() {
        let v = version(now)
        // Two nodes hold it, one is being rebuilt, one is down: still found, the healing one targeted.
        let plan = HealPlan.plan(answers([has(v), has(v), missing, down]), set: set, healing: ["node3"], now: now)
        guard case .rebuild(_, _, let targets) = plan else {
            Issue.record("\(plan)")
            return
        }
        #expect(targets == ["node3"])
    }

    @Test("a copy no quorum holds is removed once old, or at once when a missed delete came after it")
    func strays() {
        let young = version(now - 1000)
        #expect(HealPlan.plan(answers([has(young), missing, missing, missing]), set: set, now: now) == .nothing)
        let old = version(now - HealPlan.strayAgeMin - 1)
        #expect(
            HealPlan.plan(answers([has(old), missing, missing, missing]), set: set, now: now)
                == .remove(targets: ["node1": "null"]))
        #expect(
            HealPlan.plan(answers([has(young), missing, missing, down]), set: set, removedBefore: now, now: now)
                == .remove(targets: ["node1": "null"]))
        // A write newer than the delete is not removed by it.
        let newer = version(now + 10)
        #expect(
            HealPlan.plan(answers([has(newer), missing, missing, missing]), set: set, removedBefore: now, now: now)
                == .nothing)
    }

    @Test("too few answers decide nothing")
    func undecided() {
        #expect(HealPlan.plan(answers([has(version(now)), down, down, down]), set: set, now: now) == .undecided)
    }
}
