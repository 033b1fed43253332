import Storage
import Testing

@testable import Cluster

@Suite("shard map")
struct ShardMapTests {
    let members: [NodeID] = ["node1", "node2", "node3", "node4"]

    func version(_ time: Int64, shard: Int) -> ObjectVersion {
        ObjectVersion(
            versionID: "v\(time)", modTime: time, size: 10, etag: "e\(time)",
            erasure: ErasureInfo(
                dataShards: 2, parityShards: 2, blockSize: 1 << 20, index: shard, distribution: [2, 0, 3, 1]),
            dataDir: "0a0a")
    }

    @Test("each member's shard, role and state: good, corrupt, stale, missing, unreachable")
    func states() {
        let latest = version(20, shard: 2)
        let holders: [NodeID: ObjectVersion] = ["node1": latest, "node2": version(20, shard: 0)]
        let answers: [NodeID: Result<ObjectMetadata, StoreError>] = [
            "node1": .success(ObjectMetadata(versions: [latest])),
            "node2": .success(ObjectMetadata(versions: [version(20, shard: 0)])),
            "node3": .success(ObjectMetadata(versions: [version(10, shard: 3)])),
            "node4": .failure(.unreachable("offline")),
        ]
        let checks: [NodeID: Result<ShardCheck, StoreError>] = [
            "node1": .success(ShardCheck(status: .ok, bytes: 5)),
            "node2": .success(
                ShardCheck(status: .corrupt, bytes: 0, detail: "part 1 block 0: checksum", badBlocks: [0])),
        ]
        let map = ShardMap.build(
            bucket: "b", key: "k", members: members, version: latest, holders: holders, answers: answers,
            checks: checks)
        #expect(map.shards.map(\.index) == [2, 0, 3, 1])
        #expect(map.shards.map(\.role) == ["parity", "data", "parity", "data"])
        #expect(map.shards.map(\.state) == [.ok, .corrupt, .stale, .unreachable])
        #expect(map.good == 1 && !map.readable)
        #expect(map.versionID == "v20" && map.dataShards == 2 && map.parityShards == 2)
        #expect(map.shards.map(\.badBlocks) == [nil, [0], nil, nil])
        #expect(map.blocks == 1)
    }

    @Test("the blocks of an object are counted over its parts; an inline one is one block, an empty one none")
    func blocks() {
        var multipart = version(20, shard: 0)
        multipart.size = 8 << 20
        multipart.parts = [
            PartInfo(number: 1, size: 5 << 20, etag: "a"), PartInfo(number: 2, size: (3 << 20) - 1, etag: "b"),
        ]
        #expect(ShardMap.blockCount(multipart) == 8)
        var inline = version(20, shard: 0)
        inline.dataDir = nil
        #expect(ShardMap.blockCount(inline) == 1)
        inline.size = 0
        #expect(ShardMap.blockCount(inline) == 0)
    }

    @Test("a node that answers without the object is missing; enough good shards make it readable")
    func missingButReadable() {
        let latest = version(20, shard: 2)
        let holders: [NodeID: ObjectVersion] = ["node1": latest, "node2": latest, "node3": latest]
        var answers: [NodeID: Result<ObjectMetadata, StoreError>] = [:]
        for node in holders.keys { answers[node] = .success(ObjectMetadata(versions: [latest])) }
        answers["node4"] = .failure(.storage(.objectNotFound(bucket: "b", key: "k")))
        let ok: Result<ShardCheck, StoreError> = .success(ShardCheck(status: .ok, bytes: 5))
        let checks: [NodeID: Result<ShardCheck, StoreError>] = [
            "node1": ok, "node2": .success(ShardCheck(status: .missing, bytes: 0)), "node3": ok,
        ]
        let map = ShardMap.build(
            bucket: "b", key: "k", members: members, version: latest, holders: holders, answers: answers,
            checks: checks)
        #expect(map.shards.map(\.state) == [.ok, .missing, .ok, .missing])
        #expect(map.good == 2 && map.readable)
    }
}
