import Core
import Testing

@testable import Storage

@Suite("metadata cache")
struct MetadataCacheTests {
    static func metadata(_ time: Int64) -> ObjectMetadata {
        ObjectMetadata(versions: [version(time: time, etag: "e\(time)")])
    }

    @Test("entries are found until the budget pushes the oldest out, and a hit keeps an entry in")
    func eviction() {
        // Each entry is charged about 100 + 96 + key bytes: a 4 KiB budget holds about 20.
        let cache = MetadataCache(bytesMax: 4096)
        for i in 0..<10 { cache.put(bucket: "b1b", key: "k\(i)", Self.metadata(Int64(i)), encodedBytes: 100) }
        #expect(cache.get(bucket: "b1b", key: "k3") == Self.metadata(3))
        #expect(cache.get(bucket: "b1b", key: "other") == nil)
        for i in 10..<60 {
            cache.put(bucket: "b1b", key: "k\(i)", Self.metadata(Int64(i)), encodedBytes: 100)
            // k0 is used all along: it stays.
            #expect(cache.get(bucket: "b1b", key: "k0") == Self.metadata(0))
        }
        #expect(cache.get(bucket: "b1b", key: "k5") == nil, "an entry unused for long is gone")
        #expect(cache.get(bucket: "b1b", key: "k59") == Self.metadata(59))
        #expect(cache.stats.bytes <= 4096)
    }

    @Test("an entry over its size limit, or over half the budget, is not kept, and drops an older copy")
    func oversized() {
        let cache = MetadataCache(bytesMax: 1 << 30)
        cache.put(bucket: "b1b", key: "k", Self.metadata(1), encodedBytes: 100)
        cache.put(bucket: "b1b", key: "k", Self.metadata(2), encodedBytes: MetadataCache.entryBytesMax + 1)
        #expect(cache.get(bucket: "b1b", key: "k") == nil)
        let off = MetadataCache(bytesMax: 0)
        off.put(bucket: "b1b", key: "k", Self.metadata(1), encodedBytes: 10)
        #expect(off.get(bucket: "b1b", key: "k") == nil, "a zero budget caches nothing")
    }

    @Test("a bucket's entries go with it, and only its own")
    func removeBucket() {
        let cache = MetadataCache(bytesMax: 1 << 20)
        cache.put(bucket: "b1b", key: "k", Self.metadata(1), encodedBytes: 10)
        cache.put(bucket: "b1b2", key: "k", Self.metadata(2), encodedBytes: 10)
        cache.removeBucket("b1b")
        #expect(cache.get(bucket: "b1b", key: "k") == nil)
        #expect(cache.get(bucket: "b1b2", key: "k") == Self.metadata(2))
    }

    @Test("the disk keeps the cache equal to its files through commits, settles, deletes and bucket deletes")
    func coherentWithDisk() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            func file() throws -> ObjectMetadata { try disk.readMetadataFile(bucket: "b1b", key: "a/k") }
            func cached() -> ObjectMetadata? { disk.metadataCache.get(bucket: "b1b", key: "a/k") }
            let first = version(time: 1, etag: "one")
            try disk.commit(bucket: "b1b", key: "a/k", version: first, stagedUploadID: nil)
            #expect(try cached() == file())
            let second = version(time: 2, etag: "two")
            try disk.commit(bucket: "b1b", key: "a/k", version: second, stagedUploadID: nil)
            #expect(try cached() == file())
            try disk.settle(bucket: "b1b", key: "a/k", write: second, undo: true)
            #expect(try cached() == file())
            #expect(try disk.readMetadata(bucket: "b1b", key: "a/k").latest == first)
            try disk.deleteVersion(bucket: "b1b", key: "a/k", versionID: "null")
            #expect(cached() == nil)
            #expect(throws: StorageError.objectNotFound(bucket: "b1b", key: "a/k")) {
                try disk.readMetadata(bucket: "b1b", key: "a/k")
            }
            try disk.commit(bucket: "b1b", key: "a/k", version: first, stagedUploadID: nil)
            try disk.deleteBucket("b1b", force: true)
            #expect(cached() == nil)
        }
    }

    @Test("a file changed behind the node's back is read as it is by the scanner's read, which drops the copy")
    func changedBehindTheNode() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            let written = version(time: 1, etag: "one", inline: [1, 2, 3])
            try disk.commit(bucket: "b1b", key: "k", version: written, stagedUploadID: nil)
            var flipped = ObjectMetadata(versions: [written])
            flipped.versions[0].inline = [1, 2, 4]
            let path = try disk.objectPath(bucket: "b1b", key: "k") + "/" + ObjectKey.metadataFile
            try FileOps.writeSynced(path, MetadataFile.encode(flipped))
            #expect(try disk.readMetadata(bucket: "b1b", key: "k").latest == written, "reads keep what was written")
            #expect(try disk.readMetadataFile(bucket: "b1b", key: "k") == flipped)
            #expect(try disk.readMetadata(bucket: "b1b", key: "k") == flipped, "then read the file again")
        }
    }
}
