import Core
import Storage
import Testing

@testable import Cluster

/// Properties of the heal plan over every combination of what the nodes hold (a key written twice, or
/// gone, or its bucket gone, or the node silent), with seeded choices of corrupt and healing nodes and
/// of the clock: a heal never takes away what a quorum holds, never reads a corrupt shard, never heals
/// toward anything but the newest write a quorum holds, and never removes a young stray.
@Suite("heal plan properties")
struct HealPlanPropertyTests {
    typealias Truth = QuorumPropertyTests.Truth

    static func version(_ time: Int64, etag: String, set: ErasureSet) -> ObjectVersion {
        ObjectVersion(
            versionID: "null", modTime: time, size: 10, etag: etag,
            erasure: ErasureInfo(
                dataShards: set.data, parityShards: set.parity, blockSize: 1 << 20, index: 0,
                distribution: Array(0..<set.nodes)),
            dataDir: "0a0a")
    }

    static func answers(
        _ nodes: [Truth?], old: ObjectVersion, new: ObjectVersion
    )
        -> [NodeID: Result<ObjectMetadata, StoreError>]
    {
        var out: [NodeID: Result<ObjectMetadata, StoreError>] = [:]
        for (i, t) in nodes.enumerated() {
            let id = NodeID.forIndex(i)
            switch t {
            case .old?: out[id] = .success(ObjectMetadata(versions: [old]))
            case .new?: out[id] = .success(ObjectMetadata(versions: [new, old]))
            case .none?: out[id] = .failure(.storage(.objectNotFound(bucket: "b", key: "k")))
            case .noBucket?: out[id] = .failure(.storage(.bucketNotFound("b")))
            case nil: out[id] = .failure(.unreachable("down"))
            }
        }
        return out
    }

    @Test("a heal keeps what a quorum holds and heals toward the newest write, from good shards only", arguments: 1...5)
    func plansAreSafe(nodes: Int) throws {
        var random = SeededGenerator(seed: UInt64(nodes))
        for parity in 0...(nodes / 2) {
            let set = try ErasureSet(nodes: nodes, parity: parity)
            for combination in QuorumPropertyTests.everyCombination(nodes) {
                // The clock: both writes young, the old one just old enough, the new one a millisecond
                // short of it, or both old.
                let now = [
                    Int64(25), 10 + HealPlan.strayAgeMin, 20 + HealPlan.strayAgeMin - 1, 21 + HealPlan.strayAgeMin,
                ]
                .randomElement(using: &random)!
                let old = Self.version(10, etag: "old", set: set)
                let new = Self.version(20, etag: "new", set: set)
                let ids = (0..<nodes).map(NodeID.forIndex)
                let corrupt = Set(ids.filter { _ in random.next() % 4 == 0 })
                let healing = Set(ids.filter { _ in random.next() % 5 == 0 })
                let answers = Self.answers(combination, old: old, new: new)
                let action = HealPlan.plan(answers, set: set, corrupt: corrupt, healing: healing, now: now)
                let trusted = answers.filter { !healing.contains($0.key) }
                let context = "\(combination) parity \(parity) corrupt \(corrupt) healing \(healing) now \(now)"
                let found: ObjectVersion? = {
                    if case .found(let v, _) = Quorum.resolve(trusted, set: set) { return v }
                    return nil
                }()
                let holdsNew = { (id: NodeID) in combination[Int(id.rawValue.dropFirst(4))! - 1] == .new }
                let unreachable = Set(ids.filter { combination[Int($0.rawValue.dropFirst(4))! - 1] == nil })
                switch action {
                case .rebuild(let version, let sources, let targets):
                    #expect(version == found, "\(context)")
                    #expect(sources.keys.allSatisfy { !corrupt.contains($0) && !healing.contains($0) }, "\(context)")
                    #expect(sources.count >= set.readQuorum, "\(context)")
                    #expect(targets.allSatisfy { !unreachable.contains($0) }, "\(context)")
                    #expect(!targets.isEmpty && targets.allSatisfy { sources[$0] == nil }, "\(context)")
                case .remove(let targets):
                    // Only when no quorum holds a write; never a copy younger than the stray age.
                    #expect(found == nil, "\(context)")
                    for node in targets.keys {
                        let copy = holdsNew(node) ? new : old
                        #expect(copy.modTime <= now - HealPlan.strayAgeMin, "\(context): \(node)")
                    }
                case .unrecoverable(let version, let good, let needed):
                    #expect(version == found && good < needed, "\(context)")
                case .nothing, .attributes:
                    // Nothing to write: then every reachable node holds the found write, uncorrupted.
                    if let found {
                        for id in ids where !unreachable.contains(id) && !healing.contains(id) {
                            let holds =
                                found == new ? holdsNew(id) : combination[Int(id.rawValue.dropFirst(4))! - 1] == .old
                            #expect(holds && !corrupt.contains(id), "\(context): \(id)")
                        }
                    }
                case .undecided:
                    let unavailable = {
                        if case .unavailable = Quorum.resolve(trusted, set: set) { true } else { false }
                    }()
                    #expect(unavailable, "undecided while the quorum decided: \(context)")
                }
            }
        }
    }
}
