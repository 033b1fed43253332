import Core
import Testing

@testable import Storage

#if canImport(Glibc)
import Glibc
#endif

/// A fresh data folder per test, removed afterwards (`keepsSpares`: as `Disk` takes it).
func withDisk(keepsSpares: Bool? = nil, _ body: (Disk) throws -> Void) throws {
    let path = "/tmp/dc-storage-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    defer { FileOps.removeTree(path) }
    try body(try Disk(root: path, keepsSpares: keepsSpares))
}

func version(
    _ id: String = "null", time: Int64 = 1, size: Int64 = 3, etag: String = "e", dataDir: String? = nil,
    inline: [UInt8]? = [0, 0, 0]
)
    -> ObjectVersion
{
    ObjectVersion(versionID: id, modTime: time, size: size, etag: etag, dataDir: dataDir, inline: inline)
}

@Suite("names")
struct NameTests {
    @Test(
        "good bucket names pass",
        arguments: ["abc", "my-bucket", "my.bucket.2", "a1b", String(repeating: "a", count: 63)])
    func goodBuckets(name: String) throws {
        try BucketName.validate(name)
    }

    @Test(
        "bad bucket names are refused with a reason",
        arguments: [
            "ab", "Abc", "-abc", "abc-", "a..b", "a.-b", "192.168.1.1", "xn--abc", "a_b", "minio", "_dc",
            String(repeating: "a", count: 64),
        ])
    func badBuckets(name: String) {
        #expect(throws: StorageError.self) { try BucketName.validate(name) }
    }

    @Test(
        "hostile keys are refused with the right error",
        arguments: [
            ("", "empty"), ("../etc/passwd", "'.' and '..'"), ("a/../b", "'.' and '..'"), ("a/./b", "'.' and '..'"),
            ("..", "'.' and '..'"),
            ("a//b", "empty path segment"), ("/a", "empty path segment"), ("a\u{0}b", "NUL"),
            (String(repeating: "x", count: 300), "longer than"),
        ])
    func hostileKeys(key: String, reason: String) {
        #expect {
            try ObjectKey.validate(key)
        } throws: { ($0 as? StorageError)?.description.contains(reason) == true }
    }

    @Test("a key over 1024 bytes is KeyTooLong")
    func tooLong() {
        #expect(throws: StorageError.keyTooLong(bytes: 1025)) {
            try ObjectKey.validate(String(repeating: "a/", count: 512) + "b")
        }
    }

    @Test(
        "legal keys escape to names that never leave the bucket and unescape back",
        arguments: [
            "plain.txt", "a b/c d", "%41", "x/%meta", "x/%dir", "dir/", "ünïcødé/日本語.txt", ".hidden/..x", "a\tb",
            "100%/done",
        ])
    func escaping(key: String) throws {
        let segments = try ObjectKey.segments(key)
        for s in segments {
            #expect(!s.contains("/") && s != "." && s != ".." && !s.isEmpty)
        }
        // Escaped user segments never collide with the store's own names.
        let user = key.hasSuffix("/") ? Array(segments.dropLast()) : segments
        for s in user {
            #expect(
                s != ObjectKey.metadataFile && s != ObjectKey.directoryObject && !s.hasPrefix(ObjectKey.dataDirPrefix))
            #expect(ObjectKey.unescape(s) != nil)
        }
        let back = user.map { ObjectKey.unescape($0)! }.joined(separator: "/") + (key.hasSuffix("/") ? "/" : "")
        #expect(back == key)
    }
}

@Suite("disk")
struct DiskTests {
    @Test("buckets are made once, listed, and deleted only when empty")
    func buckets() throws {
        try withDisk { disk in
            try disk.makeBucket("photos", created: 5)
            #expect(throws: StorageError.bucketExists("photos")) { try disk.makeBucket("photos", created: 6) }
            #expect(try disk.listBuckets().map(\.name) == ["photos"])
            #expect(try disk.bucketInfo("photos").created == 5)
            try disk.commit(bucket: "photos", key: "cat.jpg", version: version(), stagedUploadID: nil)
            #expect(throws: StorageError.bucketNotEmpty("photos")) { try disk.deleteBucket("photos") }
            try disk.deleteVersion(bucket: "photos", key: "cat.jpg", versionID: "null")
            // Only a delete marker left: the key reads as gone, but its history is there.
            let marker = ObjectVersion(versionID: "m1", modTime: 9, size: 0, etag: "", isDeleteMarker: true)
            try disk.commit(bucket: "photos", key: "cat.jpg", version: marker, stagedUploadID: nil)
            #expect(try disk.list(bucket: "photos", prefix: "", marker: "", delimiter: nil, limit: 1).entries.isEmpty)
            #expect(throws: StorageError.bucketNotEmpty("photos")) { try disk.deleteBucket("photos") }
            try disk.deleteVersion(bucket: "photos", key: "cat.jpg", versionID: "m1")
            try disk.deleteBucket("photos")
            #expect(try disk.listBuckets().isEmpty)
            #expect(throws: StorageError.bucketNotFound("photos")) { try disk.bucketInfo("photos") }
        }
    }

    /// Stages an empty shard file for `id` and commits version `time` of `k` with it.
    @discardableResult
    func commitStaged(_ disk: Disk, _ id: String, time: Int64) throws -> (ObjectVersion, CommitReceipt) {
        let staged = try disk.beginStaging(uploadID: id)
        close(open(staged, O_WRONLY | O_CREAT, 0o644))
        let v = version(time: time, etag: id, dataDir: id, inline: nil)
        return (v, try disk.commit(bucket: "b1b", key: "k", version: v, stagedUploadID: id))
    }

    func dataFolderExists(_ disk: Disk, _ id: String) throws -> Bool {
        FileOps.exists(try disk.objectPath(bucket: "b1b", key: "k") + "/%data-" + id)
    }

    @Test("a commit replaces the null version; its data goes once the write is settled")
    func commitReplaces() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            let (_, first) = try commitStaged(disk, "0a0a", time: 1)
            #expect(!first.keepsReplacedData)
            let (second, receipt) = try commitStaged(disk, "0b0b", time: 2)
            #expect(receipt.keepsReplacedData)
            var meta = try disk.readMetadata(bucket: "b1b", key: "k")
            #expect(meta.versions.map(\.dataDir) == ["0b0b"])
            #expect(meta.replaced?.version.dataDir == "0a0a")
            #expect(try dataFolderExists(disk, "0a0a"))
            try disk.settle(bucket: "b1b", key: "k", write: second, undo: false)
            meta = try disk.readMetadata(bucket: "b1b", key: "k")
            #expect(meta.replaced == nil && meta.latest?.dataDir == "0b0b")
            #expect(FileOps.exists(try disk.shardPath(bucket: "b1b", key: "k", dataDir: "0b0b")))
            #expect(try !dataFolderExists(disk, "0a0a"))
        }
    }

    @Test("undoing an overwrite restores the version it replaced, data and all")
    func undoRestores() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            let (first, _) = try commitStaged(disk, "0a0a", time: 1)
            let (second, _) = try commitStaged(disk, "0b0b", time: 2)
            try disk.settle(bucket: "b1b", key: "k", write: second, undo: true)
            let meta = try disk.readMetadata(bucket: "b1b", key: "k")
            #expect(meta.versions == [first] && meta.replaced == nil)
            #expect(try dataFolderExists(disk, "0a0a") && !dataFolderExists(disk, "0b0b"))
            // Settling again, or a write never committed here, changes nothing.
            try disk.settle(bucket: "b1b", key: "k", write: second, undo: true)
            try disk.settle(bucket: "b1b", key: "k", write: version(time: 9, etag: "zz"), undo: true)
            #expect(try disk.readMetadata(bucket: "b1b", key: "k").versions == [first])
        }
    }

    @Test("undoing a first write removes the object; a retried commit is a no-op")
    func undoFirstWrite() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            let v = version(time: 1)
            try disk.commit(bucket: "b1b", key: "k", version: v, stagedUploadID: nil)
            #expect(try !disk.commit(bucket: "b1b", key: "k", version: v, stagedUploadID: nil).keepsReplacedData)
            #expect(try disk.readMetadata(bucket: "b1b", key: "k").replaced == nil)
            try disk.settle(bucket: "b1b", key: "k", write: v, undo: true)
            #expect(throws: StorageError.objectNotFound(bucket: "b1b", key: "k")) {
                try disk.readMetadata(bucket: "b1b", key: "k")
            }
        }
    }

    @Test("a new write no later than the newest version held is refused and changes nothing; a heal is not")
    func onlyIfNewest() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.commit(bucket: "b1b", key: "k", version: version(time: 10, etag: "ten"), stagedUploadID: nil)
            #expect(throws: StorageError.notNewest(bucket: "b1b", key: "k", newest: 10)) {
                try disk.commit(
                    bucket: "b1b", key: "k", version: version(time: 10, etag: "other"), stagedUploadID: nil,
                    onlyIfNewest: true)
            }
            #expect(try disk.readMetadata(bucket: "b1b", key: "k").latest?.etag == "ten")
            // The same write again (a retried commit) is no new write.
            try disk.commit(
                bucket: "b1b", key: "k", version: version(time: 10, etag: "ten"), stagedUploadID: nil,
                onlyIfNewest: true)
            try disk.commit(
                bucket: "b1b", key: "k", version: version(time: 11, etag: "eleven"), stagedUploadID: nil,
                onlyIfNewest: true)
            #expect(try disk.readMetadata(bucket: "b1b", key: "k").latest?.etag == "eleven")
        }
    }

    @Test("an unsettled replaced version is dropped by the next commit")
    func nextCommitDropsUnsettled() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            try commitStaged(disk, "0a0a", time: 1)
            try commitStaged(disk, "0b0b", time: 2)
            try commitStaged(disk, "0c0c", time: 3)
            let meta = try disk.readMetadata(bucket: "b1b", key: "k")
            #expect(meta.versions.map(\.dataDir) == ["0c0c"] && meta.replaced?.version.dataDir == "0b0b")
            #expect(try !dataFolderExists(disk, "0a0a"))
        }
    }

    @Test("committing a staged upload that does not exist fails and changes nothing")
    func missingStaged() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            #expect(throws: StorageError.stagedNotFound("beef/part.1")) {
                try disk.commit(
                    bucket: "b1b", key: "k", version: version(dataDir: "beef", inline: nil), stagedUploadID: "beef")
            }
            #expect(throws: StorageError.objectNotFound(bucket: "b1b", key: "k")) {
                try disk.readMetadata(bucket: "b1b", key: "k")
            }
        }
    }

    @Test("staged leftovers of a crash are removed at start")
    func leftovers() throws {
        try withDisk { disk in
            _ = try disk.beginStaging(uploadID: "aaaa")
            _ = try disk.beginStaging(uploadID: "bbbb")
            #expect(disk.removeStaged() == 2)
            #expect(disk.removeStaged() == 0)
        }
    }

    @Test("deleting the last version removes the object's folders up to the bucket")
    func deletePrunes() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.commit(bucket: "b1b", key: "a/b/c", version: version(), stagedUploadID: nil)
            try disk.deleteVersion(bucket: "b1b", key: "a/b/c", versionID: "null")
            #expect(try FileOps.entries(disk.root + "/b1b").isEmpty)
            #expect(throws: StorageError.objectNotFound(bucket: "b1b", key: "a/b/c")) {
                try disk.deleteVersion(bucket: "b1b", key: "a/b/c", versionID: "null")
            }
        }
    }

    @Test("the format file round-trips, and a folder without one is recognised")
    func format() throws {
        try withDisk { disk in
            #expect(try disk.readFormat() == nil)
            let f = DiskFormat(deploymentID: "d-1", nodeID: "node2", index: 1, setSize: 4, parity: 2)
            try disk.writeFormat(f)
            #expect(try disk.readFormat() == f)
        }
    }
}

@Suite("listing")
struct ListingTests {
    static let keys = [
        "a", "a-c", "a/b", "a/", "a/b/c", "a/bc", "b", "photos/2024/jan/1.jpg", "photos/2024/feb/2.jpg",
        "photos/2025/x.jpg",
        "photos/readme", "ünï/x", "Z", "~tilde", "100%", "space name",
    ]

    func filled(_ body: (Disk) throws -> Void) throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            for key in ListingTests.keys {
                try disk.commit(bucket: "b1b", key: key, version: version(), stagedUploadID: nil)
            }
            try body(disk)
        }
    }

    /// What S3 would return, computed from the plain key list.
    func model(prefix: String, marker: String, delimiter: String?) -> [String] {
        var out: [String] = []
        for key in ListingTests.keys.sorted(by: keyPrecedes) where key.hasPrefix(prefix) && keyPrecedes(marker, key) {
            if let delimiter, let r = key.dropFirst(prefix.count).firstRange(of: delimiter) {
                let common = String(key[..<r.upperBound])
                if out.last != common && keyPrecedes(marker, common) { out.append(common) }
            } else {
                out.append(key)
            }
        }
        return out
    }

    func page(_ disk: Disk, prefix: String, marker: String, delimiter: String?, limit: Int) throws -> ListPage {
        try disk.list(bucket: "b1b", prefix: prefix, marker: marker, delimiter: delimiter, limit: limit)
    }

    @Test(
        "listings match the model, in byte order, for every prefix and delimiter",
        arguments: [
            ("", nil), ("", "/"), ("a", nil), ("a", "/"), ("a/", "/"), ("photos/", "/"), ("photos/2024/", "/"),
            ("photos/", "2"), ("p", "o"), ("zzz", nil),
        ])
    func matchesModel(prefix: String, delimiter: String?) throws {
        try filled { disk in
            let result = try page(disk, prefix: prefix, marker: "", delimiter: delimiter, limit: 1000)
            let got = (result.entries.map(\.key) + result.prefixes).sorted(by: keyPrecedes)
            #expect(got == model(prefix: prefix, marker: "", delimiter: delimiter))
            #expect(!result.isTruncated)
        }
    }

    @Test("a big folder pages right from its index, and the index follows keys added and removed")
    func bigFolder() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            var keys = (0..<700).map { "big/k\($0)" }
            for key in keys { try disk.commit(bucket: "b1b", key: key, version: version(), stagedUploadID: nil) }
            func all() throws -> [String] {
                var marker = ""
                var seen: [String] = []
                while true {
                    let p = try disk.list(bucket: "b1b", prefix: "big/", marker: marker, delimiter: nil, limit: 100)
                    seen += p.entries.map(\.key)
                    guard p.isTruncated, let next = p.nextMarker else { return seen }
                    marker = next
                }
            }
            #expect(try all() == keys.sorted(by: keyPrecedes))
            // Old enough now to be indexed: pages come from the index.
            usleep(UInt32(FolderIndex.settleTime / 1000) + 100_000)
            #expect(try all() == keys.sorted(by: keyPrecedes))
            try disk.commit(bucket: "b1b", key: "big/k0.5", version: version(), stagedUploadID: nil)
            try disk.deleteVersion(bucket: "b1b", key: "big/k7", versionID: "null")
            keys.append("big/k0.5")
            keys.removeAll { $0 == "big/k7" }
            #expect(try all() == keys.sorted(by: keyPrecedes))
            let mid = try disk.list(bucket: "b1b", prefix: "", marker: "big/k5", delimiter: nil, limit: 2)
            #expect(mid.entries.map(\.key) == ["big/k50", "big/k500"])
        }
    }

    @Test("paging with every page size visits every result exactly once", arguments: [1, 2, 3, 7])
    func paging(size: Int) throws {
        try filled { disk in
            for (prefix, delimiter) in [("", nil), ("", "/"), ("photos/", "/"), ("a", nil)] as [(String, String?)] {
                var marker = ""
                var seen: [String] = []
                for _ in 0..<100 {
                    let p = try page(disk, prefix: prefix, marker: marker, delimiter: delimiter, limit: size)
                    let items = (p.entries.map(\.key) + p.prefixes).sorted(by: keyPrecedes)
                    #expect(items.count <= size)
                    seen += items
                    guard p.isTruncated, let next = p.nextMarker else { break }
                    marker = next
                }
                #expect(
                    seen == model(prefix: prefix, marker: "", delimiter: delimiter),
                    "prefix \(prefix) delimiter \(String(describing: delimiter))")
            }
        }
    }

    @Test("delete markers are not listed; inline data is not returned")
    func deleteMarkersHidden() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.commit(
                bucket: "b1b", key: "gone",
                version: ObjectVersion(versionID: "v2", modTime: 2, size: 0, etag: "", isDeleteMarker: true),
                stagedUploadID: nil)
            try disk.commit(bucket: "b1b", key: "here", version: version(), stagedUploadID: nil)
            let p = try disk.list(bucket: "b1b", prefix: "", marker: "", delimiter: nil, limit: 10)
            #expect(p.entries.map(\.key) == ["here"])
            #expect(p.entries.first?.version.inline == nil)
        }
    }
}

@Suite("intent journal")
struct IntentJournalTests {
    @Test("a data folder moved in by a commit that never renamed its metadata is removed at start")
    func interruptedCommit() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            let staged = try disk.beginStaging(uploadID: "0a0a")
            close(open(staged, O_WRONLY | O_CREAT, 0o644))
            try disk.commit(
                bucket: "b1b", key: "k", version: version(dataDir: "0a0a", inline: nil), stagedUploadID: "0a0a")
            // What a crash after the data rename and before the metadata rename leaves behind:
            let objectDir = try disk.objectPath(bucket: "b1b", key: "k")
            try FileOps.makeDirectories(objectDir + "/%data-0b0b")
            try disk.journal.record(.init(object: "b1b/k", data: "0b0b"))
            let reopened = try Disk(root: disk.root)
            #expect(reopened.removeInterruptedCommits() == 1)
            #expect(!FileOps.exists(objectDir + "/%data-0b0b"))
            #expect(FileOps.exists(objectDir + "/%data-0a0a"))
            #expect(reopened.journal.intents().isEmpty)
            #expect(reopened.removeInterruptedCommits() == 0)
        }
    }
}

@Suite("missed-write journal")
struct MissedJournalTests {
    func entry(_ id: String, peers: [String]) -> MissedEntry {
        MissedEntry(
            id: id, bucket: "b1b", key: "k\(id)", versionID: "null", isDelete: false, peers: peers, holders: ["node1"],
            time: 1)
    }

    @Test("entries survive a restart until every missed peer is marked done")
    func survives() throws {
        try withDisk { disk in
            try disk.recordMissed([entry("aa", peers: ["node2", "node3"]), entry("bb", peers: ["node2"])])
            disk.markMissedDone(["aa"], peer: "node2")
            let reopened = try Disk(root: disk.root)
            #expect(reopened.pendingMissed().map(\.id) == ["aa", "bb"])
            #expect(reopened.pendingMissed().first?.peers == ["node3"])
            reopened.markMissedDone(["aa"], peer: "node3")
            reopened.markMissedDone(["bb"], peer: "node2")
            #expect(try Disk(root: disk.root).pendingMissed().isEmpty)
        }
    }

    @Test("a heal commit swaps the shard of a version this node holds; the same shard again is a no-op")
    func healCommit() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            let first = version(time: 5, dataDir: "0a0a", inline: nil)
            for id in ["0a0a", "0b0b"] { close(open(try disk.beginStaging(uploadID: id), O_WRONLY | O_CREAT, 0o644)) }
            try disk.commit(bucket: "b1b", key: "k", version: first, stagedUploadID: "0a0a")
            var healed = first
            healed.dataDir = "0b0b"
            try disk.commit(bucket: "b1b", key: "k", version: healed, stagedUploadID: "0b0b")
            let meta = try disk.readMetadata(bucket: "b1b", key: "k")
            #expect(meta.versions == [healed] && meta.replaced == nil)
            #expect(!FileOps.exists(try disk.objectPath(bucket: "b1b", key: "k") + "/%data-0a0a"))
            #expect(try !disk.commit(bucket: "b1b", key: "k", version: healed, stagedUploadID: nil).keepsReplacedData)
        }
    }
}

@Suite("versions on disk")
struct VersionsOnDiskTests {
    @Test("two racing writes of one version id leave the later on every node, whatever the order")
    func lastWriterWins() throws {
        for order in [[1, 2], [2, 1]] {
            try withDisk { disk in
                try disk.makeBucket("b1b", created: 1)
                for t in order {
                    try disk.commit(
                        bucket: "b1b", key: "k", version: version(time: Int64(t), etag: "e\(t)"), stagedUploadID: nil)
                }
                #expect(try disk.readMetadata(bucket: "b1b", key: "k").versions.map(\.etag) == ["e2"])
            }
        }
    }

    @Test("versions accumulate newest first; a listing of versions shows them all, markers too")
    func versions() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 1)
            try disk.setVersioning("b1b", "Enabled")
            #expect(try disk.bucketInfo("b1b").versioningEnabled)
            try disk.commit(bucket: "b1b", key: "k", version: version("v1", time: 1), stagedUploadID: nil)
            try disk.commit(bucket: "b1b", key: "k", version: version("v2", time: 2), stagedUploadID: nil)
            var marker = version("v3", time: 3, size: 0, inline: [])
            marker.isDeleteMarker = true
            try disk.commit(bucket: "b1b", key: "k", version: marker, stagedUploadID: nil)
            #expect(try disk.list(bucket: "b1b", prefix: "", marker: "", delimiter: nil, limit: 10).entries.isEmpty)
            let page = try disk.listVersions(
                bucket: "b1b", prefix: "", from: "", inclusive: false, delimiter: nil, limit: 10)
            #expect(page.entries.map(\.key) == ["k"])
            #expect(page.entries[0].versions?.map(\.versionID) == ["v3", "v2", "v1"])
            #expect(page.entries[0].versions?.allSatisfy { $0.inline == nil } == true)
            let from = try disk.listVersions(
                bucket: "b1b", prefix: "", from: "k", inclusive: true, delimiter: nil, limit: 10)
            #expect(from.entries.count == 1)
            #expect(
                try disk.listVersions(bucket: "b1b", prefix: "", from: "k", inclusive: false, delimiter: nil, limit: 10)
                    .entries.isEmpty)
        }
    }
}
