import Core
import Storage
import Testing

@testable import Cluster

@Suite("quorum")
struct QuorumTests {
    static func version(_ time: Int64, id: String = "null") -> ObjectVersion {
        ObjectVersion(versionID: id, modTime: time, size: 1, etag: "e\(time)")
    }

    static func answers(_ held: [ObjectVersion?]) -> [NodeID: Result<ObjectMetadata, StoreError>] {
        Dictionary(
            uniqueKeysWithValues: held.enumerated().map { i, v in
                (
                    NodeID.forIndex(i),
                    v.map { .success(ObjectMetadata(versions: [$0])) }
                        ?? .failure(.storage(.objectNotFound(bucket: "b", key: "k")))
                )
            })
    }

    @Test("a read asks first the fewest nodes that every write and delete quorum meets, and at least k")
    func firstReaders() throws {
        for (nodes, parity, first) in [
            (1, 0, 1), (2, 1, 1), (3, 1, 2), (4, 2, 2), (5, 2, 3), (6, 3, 3), (8, 4, 4),
            (16, 4, 12),
        ] {
            let set = try ErasureSet(nodes: nodes, parity: parity)
            #expect(Quorum.firstReaders(set: set) == first, "\(nodes) nodes, parity \(parity)")
        }
    }

    @Test("the first nodes decide alone only when they all hold the same newest write, or none has it")
    func resolveEarlyCases() throws {
        let set = try ErasureSet(nodes: 4, parity: 2)
        let v1 = Self.version(1)
        let v2 = Self.version(2)
        let first = Self.answers([v2, v2])
        guard case .found(let found, let holders) = Quorum.resolveEarly(first, set: set) else {
            Issue.record("two agreeing answers decide")
            return
        }
        #expect(found == v2 && holders.count == 2)
        #expect(Quorum.resolveEarly(Self.answers([v2, v1]), set: set) == nil)
        #expect(Quorum.resolveEarly(Self.answers([v1, nil]), set: set) == nil)
        #expect(Quorum.resolveEarly(Self.answers([nil, nil]), set: set) == nil, "two others could hold it")
        #expect(Quorum.resolveEarly(Self.answers([nil, nil, nil]), set: set) == .notFound)
        #expect(Quorum.resolveEarly(Self.answers([v2]), set: set) == nil, "too few answers")
        var failed = Self.answers([v2, v2])
        failed[.forIndex(1)] = .failure(.unreachable("down"))
        #expect(Quorum.resolveEarly(failed, set: set) == nil)
        let versioned = [
            NodeID.forIndex(0): Result<ObjectMetadata, StoreError>.success(
                ObjectMetadata(versions: [Self.version(3, id: "b"), Self.version(2, id: "a")])),
            .forIndex(1): .success(ObjectMetadata(versions: [Self.version(2, id: "a")])),
        ]
        guard case .found(let named, _) = Quorum.resolveEarly(versioned, set: set, versionID: "a") else {
            Issue.record("both hold version a")
            return
        }
        #expect(named.versionID == "a")
        #expect(Quorum.resolveEarly(versioned, set: set) == nil, "the latest differs")
    }

    /// Random histories of one key on every geometry: writes and deletes reach random sets of nodes,
    /// acknowledged when they reach their quorum (a failed write leaves leftovers on some of the nodes
    /// it reached, as an undo that missed nodes does; a failed delete is not taken back). Whatever first
    /// nodes a read asks, an early decision never returns a version older than the last acknowledged
    /// write, nor one an acknowledged delete removed, and says "not found" only when asking every node
    /// would not find it either.
    @Test("an early decision never misses the newest acknowledged change", arguments: [1, 2, 3, 4, 5, 6, 8, 12, 16])
    func resolveEarlyIsSafe(nodes: Int) throws {
        var g = SeededGenerator(seed: UInt64(nodes) * 7919)
        var decided = 0
        for parity in 0...(nodes / 2) {
            let set = try ErasureSet(nodes: nodes, parity: parity)
            for _ in 0..<200 {
                var held = [ObjectVersion?](repeating: nil, count: nodes)
                /// The last acknowledged change: a write's time, or a delete's (negative: none yet).
                var acknowledged: (time: Int64, isDelete: Bool)?
                for time in Int64(1)...Int64(12) {
                    let reached = (0..<nodes).filter { _ in Bool.random(using: &g) }
                    if Int.random(in: 0..<3, using: &g) == 0 {
                        let ok = reached.count >= set.metadataQuorum
                        for n in reached { held[n] = nil }
                        if ok { acknowledged = (time, true) }
                    } else {
                        let ok = reached.count >= set.writeQuorum
                        let kept = ok ? reached : reached.filter { _ in Bool.random(using: &g) }
                        for n in kept where (held[n]?.modTime ?? 0) < time { held[n] = Self.version(time) }
                        if ok { acknowledged = (time, false) }
                    }
                    let first = Array((0..<nodes).shuffled(using: &g).prefix(Quorum.firstReaders(set: set)))
                    let all = Self.answers(held)
                    let answers = all.filter { node, _ in first.contains { NodeID.forIndex($0) == node } }
                    guard let early = Quorum.resolveEarly(answers, set: set) else { continue }
                    decided += 1
                    switch (early, acknowledged) {
                    case (.found(let v, _), .some(let last)):
                        #expect(
                            last.isDelete ? v.modTime > last.time : v.modTime >= last.time,
                            "stale: \(v.modTime) read after \(last)")
                    case (.found, nil): break
                    case (.notFound, _):
                        if case .found(let v, _) = Quorum.resolve(all, set: set) {
                            Issue.record("not found early, but every node's answers find \(v.modTime)")
                        }
                    default: Issue.record("unexpected \(early)")
                    }
                }
            }
        }
        #expect(decided > 0, "some reads decide early")
    }
}
