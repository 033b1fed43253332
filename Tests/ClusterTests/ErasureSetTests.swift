import Testing

@testable import Cluster

@Suite("placement and quorum")
struct ErasureSetTests {
    @Test(
        "defaults and quorums follow DESIGN.md for every set size",
        arguments: [
            // nodes, parity, data, write quorum, read quorum, metadata quorum
            (1, 0, 1, 1, 1, 1), (2, 1, 1, 2, 1, 2), (3, 1, 2, 2, 2, 2), (4, 2, 2, 3, 2, 3), (5, 2, 3, 3, 3, 3),
            (6, 3, 3, 4, 3, 4), (7, 3, 4, 4, 4, 4), (8, 4, 4, 5, 4, 5), (12, 4, 8, 8, 8, 7), (16, 4, 12, 12, 12, 9),
        ])
    func defaults(nodes: Int, parity: Int, data: Int, write: Int, read: Int, metadata: Int) throws {
        let set = try ErasureSet(nodes: nodes)
        #expect(set.parity == parity)
        #expect(set.data == data)
        #expect(set.writeQuorum == write)
        #expect(set.readQuorum == read)
        #expect(set.metadataQuorum == metadata)
    }

    @Test("a parity override is honoured up to half the nodes and refused beyond")
    func overrides() throws {
        #expect(try ErasureSet(nodes: 8, parity: 2).writeQuorum == 6)
        #expect(try ErasureSet(nodes: 4, parity: 0).writeQuorum == 4)
        #expect(throws: ErasureSet.Invalid.self) { try ErasureSet(nodes: 4, parity: 3) }
        #expect(throws: ErasureSet.Invalid.self) { try ErasureSet(nodes: 17) }
        #expect(throws: ErasureSet.Invalid.self) { try ErasureSet(nodes: 0) }
    }

    @Test(
        "with up to m nodes failed every object is readable, and writes succeed exactly while write quorum holds",
        arguments: 1...16)
    func failureSets(nodes: Int) throws {
        let set = try ErasureSet(nodes: nodes)
        for failed in 0...nodes {
            let alive = nodes - failed
            // Reads need k shards: guaranteed while at most m nodes are down.
            #expect((alive >= set.readQuorum) == (failed <= set.parity))
            #expect(set.writeQuorum <= nodes && set.writeQuorum >= set.readQuorum)
        }
        // Two writes that each reached write quorum always share a node (hence k + 1 when k == m).
        #expect(2 * set.writeQuorum > nodes)
    }

    @Test("shard placement is a rotation: every shard on exactly one node, spread over the nodes")
    func distribution() throws {
        let set = try ErasureSet(nodes: 4)
        var firstShardOwners: [Int: Int] = [:]
        for i in 0..<400 {
            let d = set.distribution(bucket: "photos", key: "cat-\(i).jpg")
            #expect(d.sorted() == [0, 1, 2, 3])
            #expect(d == set.distribution(bucket: "photos", key: "cat-\(i).jpg"))
            firstShardOwners[d.firstIndex(of: 0)!, default: 0] += 1
        }
        // Each node holds shard 0 for roughly a quarter of the objects.
        #expect(firstShardOwners.values.allSatisfy { $0 > 60 })
    }
}
