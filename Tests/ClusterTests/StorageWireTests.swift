import Core
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

    @Test("every call has its own path under the storage prefix")
    func pathsAreDistinct() {
        let paths = [
            StorageCalls.makeBucket.path, StorageCalls.deleteBucket.path, StorageCalls.bucketInfo.path,
            StorageCalls.listBuckets.path, StorageCalls.setVersioning.path, StorageCalls.changeSettings.path,
            StorageCalls.readMetadata.path,
            StorageCalls.commit.path, StorageCalls.settle.path, StorageCalls.deleteVersion.path,
            StorageCalls.list.path, StorageCalls.listVersions.path, StorageCalls.lock.path,
            StorageCalls.checkShard.path, StorageCalls.recordMissed.path, StorageCalls.markMissedDone.path,
            StorageCalls.createUpload.path, StorageCalls.uploadState.path, StorageCalls.commitPart.path,
            StorageCalls.abortUpload.path, StorageCalls.listUploads.path, StorageCalls.abortStaging.path,
            StoragePaths.stage, StoragePaths.shard,
        ]
        #expect(Set(paths).count == paths.count)
        #expect(paths.allSatisfy { $0.hasPrefix(StoragePaths.prefix) })
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
