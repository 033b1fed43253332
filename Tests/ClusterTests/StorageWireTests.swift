import Core
import Loop
import Storage
import Testing

@testable import Cluster

@Suite("storage wire")
struct StorageWireTests {
    @Test("a commit request round-trips, with the lock grant it gives back")
    func commitRequest() throws {
        var v = ObjectVersion(versionID: "null", modTime: 5, size: 3, etag: "e", inline: [1, 2, 3])
        v.erasure = ErasureInfo(
            dataShards: 2, parityShards: 2, blockSize: 1 << 20, index: 1, distribution: [1, 2, 3, 0])
        let request = CommitRequest(
            bucket: "b1b", key: "a/b", version: v, stagedUploadID: nil, multipartUploadID: "ab12",
            releasing: LockRelease(resource: "b1b/a/b", owner: "00ff"))
        let back = try CommitRequest(wire: request.wire)
        #expect(back.bucket == "b1b" && back.key == "a/b" && back.version == v)
        #expect(back.stagedUploadID == nil && back.multipartUploadID == "ab12")
        #expect(back.releasing == LockRelease(resource: "b1b/a/b", owner: "00ff"))
    }

    @Test("a lock request with an unknown operation or a ttl out of range is refused, never defaulted")
    func hostileLockRequests() throws {
        let good = LockRequest(op: .refresh, resource: "b/k", owner: "o", ttl: .seconds(5))
        let back = try LockRequest(wire: good.wire)
        #expect(back.op == .refresh && back.ttl == .seconds(5))
        var badOp = good.wire
        badOp[0] = 9
        #expect(throws: BinaryError.self) { try LockRequest(wire: badOp) }
        for ttl: Duration in [.zero, .seconds(61)] {
            let bytes = LockRequest(op: .acquire, resource: "b/k", owner: "o", ttl: ttl).wire
            #expect(throws: BinaryError.self) { try LockRequest(wire: bytes) }
        }
    }

    @Test("every call has its own path under the storage prefix, and the dispatcher serves exactly the calls listed")
    func pathsAreDistinct() throws {
        let paths =
            StorageCalls.all.map(\.path) + [StoragePaths.stage, StoragePaths.shard, StoragePaths.lockedCommitShard]
        #expect(Set(paths).count == paths.count)
        #expect(paths.allSatisfy { $0.hasPrefix(StoragePaths.prefix) })
        let root = try #require(TemporaryFolder.make(prefix: "dc-wire-test", environment: [:]))
        defer { removeTree(root) }
        let loop = try EventLoop()
        let local = LocalStore(
            id: .forIndex(0), disk: try Disk(root: root), loop: loop,
            queue: WorkQueue(loop: loop, label: "disk", limits: .init(inFlightMax: 1, queuedMax: 1)))
        #expect(StorageService(local: local).servedPaths == Set(StorageCalls.all.map(\.path)))
        #expect(loop.close() == [])
    }

    @Test("a truncated binary answer is an error, never a partial value")
    func truncatedAnswer() {
        let m = ObjectMetadata(versions: [ObjectVersion(versionID: "v", modTime: 1, size: 0, etag: "")])
        let bytes = m.wire
        for n in 0..<bytes.count {
            #expect(throws: BinaryError.self) { try ObjectMetadata(wire: Array(bytes.prefix(n))) }
        }
    }
}
