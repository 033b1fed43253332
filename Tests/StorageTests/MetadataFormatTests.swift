import Core
import FoundationEssentials
import Testing

@testable import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Metadata with every optional field set, multipart parts, a replaced version and odd strings.
func richMetadata() -> ObjectMetadata {
    var v = version("v2", time: 1_764_000_000_123, size: 9_000_000, etag: "0123456789abcdef-2", dataDir: "abcd")
    v.contentType = "text/plain; charset=utf-8"
    v.userMetadata = ["k": "v", "émoji": "🙂", "empty": ""]
    v.headers = ["Cache-Control": "no-cache", "Content-Encoding": "gzip"]
    v.checksums = ["CRC32C": "AAAAAA=="]
    v.erasure = ErasureInfo(dataShards: 2, parityShards: 2, blockSize: 1 << 20, index: 3, distribution: [3, 0, 1, 2])
    v.parts = [
        PartInfo(number: 1, size: 5 << 20, etag: "aa"), PartInfo(number: 2, size: 1, etag: "bb", checksums: [:]),
    ]
    v.inline = nil
    v.tags = ["project": "x", "empty": ""]
    v.completedUploadID = "0123abcd"
    v.retention = ObjectRetention(mode: .compliance, until: 1_900_000_000_000)
    v.legalHold = true
    v.attributesTime = 1_764_000_000_999
    var small = version("null", time: -5, size: 3, inline: [1, 2, 3, 0, 255])
    small.isDeleteMarker = false
    let marker = ObjectVersion(versionID: "m", modTime: 7, size: 0, etag: "", isDeleteMarker: true)
    return ObjectMetadata(versions: [v, small, marker], replaced: ReplacedVersion(version: small, by: v))
}

@Suite("metadata format")
struct MetadataFormatTests {
    @Test("format 3 round-trips every field, inline bytes as they are")
    func roundTrip() throws {
        let m = richMetadata()
        let bytes = MetadataFile.encode(m)
        #expect(Array(bytes.prefix(5)) == MetadataFile.magic + [MetadataFile.currentFormat])
        #expect(try MetadataFile.decode(bytes) == m)
    }

    /// A `%meta` file written by devnode at commit 4566564 (format 2): a PUT of "hello format two" as
    /// text/plain with x-amz-meta-who: old and a SHA-256 checksum, node1's copy.
    static let formatTwoFile =
        "RENNVAIZ0czXJkXLTQEEbnVsbMDx75jJaCAgZDNmMzNmMmQzYTZiZTgxYjFiYzhhOTM0ODFjMjJjODgBCnRleHQvcGxhaW4BA3dobwNvbGQAAQZTSEEyNTYsSFdYM1pTaElzZkI3eVZXSXE0cDZuSUVDbklJaTNaTEdwTWcycXg4V0hqRT0AAQQEgICAAQYEBgACBAABEORYcaiDNRPV6puaHjXRl5wAAA=="

    @Test("a format 2 file (written by the devnode before 2026-12-06) is read, without the newer fields")
    func readsFormatTwo() throws {
        let bytes = try #require(Base64.decode(MetadataFormatTests.formatTwoFile))
        #expect(bytes[4] == 2)
        let m = try MetadataFile.decode(bytes)
        let v = try #require(m.latest)
        #expect(v.versionID == "null" && v.size == 16 && v.contentType == "text/plain")
        #expect(v.userMetadata == ["who": "old"] && v.checksums["SHA256"] != nil)
        #expect(v.etag == Crypto.md5(Array("hello format two".utf8)).hexString)
        #expect(v.inline != nil && v.erasure?.dataShards == 2)
        #expect(v.tags.isEmpty && v.completedUploadID == nil && v.retention == nil && !v.legalHold)
    }

    @Test("a format 2 data folder is read, and the next change rewrites it as format 3")
    func upgradesFormatTwo() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 0)
            let dir = try disk.objectPath(bucket: "b1b", key: "k")
            try FileOps.makeDirectories(dir)
            let path = dir + "/" + ObjectKey.metadataFile
            try FileOps.writeSynced(path, try #require(Base64.decode(MetadataFormatTests.formatTwoFile)))
            let old = try #require(try disk.readMetadata(bucket: "b1b", key: "k").latest)
            #expect(old.userMetadata == ["who": "old"])
            var newer = old
            newer.modTime += 1
            newer.etag = "changed"
            try disk.commit(bucket: "b1b", key: "k", version: newer, stagedUploadID: nil)
            let bytes = try FileOps.read(path)
            #expect(bytes[4] == MetadataFile.currentFormat)
            #expect(try MetadataFile.decode(bytes).latest == newer)
        }
    }

    @Test("format 1 (JSON, inline frames in base64) is still read")
    func readsFormatOne() throws {
        let m = richMetadata()
        let json = Array(try JSONEncoder().encode(m))
        #expect(String(decoding: json, as: UTF8.self).contains("\"inline\":\"AQIDAP8=\""))
        #expect(try MetadataFile.decode(json) == m)
    }

    @Test("a format 1 data folder is read, and the next commit rewrites it in the current format")
    func upgradesOnCommit() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 0)
            let old = version("null", time: 1, inline: [9, 9, 9])
            let dir = try disk.objectPath(bucket: "b1b", key: "k")
            try FileOps.makeDirectories(dir)
            let path = dir + "/" + ObjectKey.metadataFile
            try FileOps.writeSynced(path, Array(try JSONEncoder().encode(ObjectMetadata(versions: [old]))))
            #expect(try disk.readMetadata(bucket: "b1b", key: "k").versions == [old])
            let new = version("null", time: 2, inline: [1, 2, 3])
            try disk.commit(bucket: "b1b", key: "k", version: new, stagedUploadID: nil)
            let bytes = try FileOps.read(path)
            #expect(Array(bytes.prefix(4)) == MetadataFile.magic)
            #expect(try disk.readMetadata(bucket: "b1b", key: "k").latest == new)
        }
    }

    @Test("any flipped byte is caught: never a different metadata")
    func flippedBytes() throws {
        let m = richMetadata()
        let bytes = MetadataFile.encode(m)
        for i in bytes.indices {
            var bad = bytes
            bad[i] ^= 0x20
            #expect(throws: BinaryError.self) { try MetadataFile.decode(bad) }
        }
    }

    @Test("every truncation is an error, never a crash")
    func truncations() throws {
        let bytes = MetadataFile.encode(richMetadata())
        for n in 0..<bytes.count {
            #expect(throws: BinaryError.self) { try MetadataFile.decode(Array(bytes.prefix(n))) }
        }
    }

    @Test("a newer format is refused with a message that says to upgrade")
    func newerFormat() {
        var bytes = MetadataFile.encode(richMetadata())
        bytes[4] = MetadataFile.currentFormat + 1
        #expect {
            try MetadataFile.decode(bytes)
        } throws: { ($0 as? BinaryError)?.reason.contains("upgrade") == true }
    }

    @Test("a corrupt file on disk is StorageError.corrupt naming the path (once the cache no longer hides it)")
    func corruptOnDisk() throws {
        try withDisk { disk in
            try disk.makeBucket("b1b", created: 0)
            try disk.commit(bucket: "b1b", key: "k", version: version(), stagedUploadID: nil)
            let path = try disk.objectPath(bucket: "b1b", key: "k") + "/" + ObjectKey.metadataFile
            var bytes = try FileOps.read(path)
            bytes[bytes.count - 1] ^= 1
            try FileOps.writeSynced(path, bytes)
            let isCorruptNamingPath: (any Error) -> Bool = { error in
                guard case .corrupt(let p, let reason) = error as? StorageError else { return false }
                return p == path && reason.contains("checksum")
            }
            // The scanner's read goes to the file; every read after it does too.
            #expect(performing: { try disk.readMetadataFile(bucket: "b1b", key: "k") }, throws: isCorruptNamingPath)
            #expect(performing: { try disk.readMetadata(bucket: "b1b", key: "k") }, throws: isCorruptNamingPath)
        }
    }
}

@Suite("binary coding")
struct BinaryCodingTests {
    @Test("integers round-trip at the edges", arguments: [Int64.min, -1, 0, 1, 127, 128, 1 << 40, Int64.max])
    func integers(value: Int64) throws {
        var w = BinaryWriter()
        w.write(value)
        var r = BinaryReader(w.bytes)
        #expect(try r.readInt64() == value)
        #expect(r.isAtEnd)
    }

    @Test("hostile lengths and counts are refused before anything is allocated")
    func hostileLengths() {
        var w = BinaryWriter()
        w.write(UInt64.max >> 1)
        var r = BinaryReader(w.bytes)
        #expect(throws: BinaryError.self) { try r.readString() }
        var r2 = BinaryReader(w.bytes)
        #expect(throws: BinaryError.self) { try r2.readArray(of: PartInfo.self) }
        var r3 = BinaryReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(throws: BinaryError.self) { try r3.readVarint() }
    }

    @Test("a string that is not UTF-8 is refused")
    func badUTF8() {
        var r = BinaryReader([2, 0xC3, 0x28])
        #expect(throws: BinaryError.self) { try r.readString() }
    }
}

@Suite("commits cut by a crash")
struct CrashPointTests {
    /// Stages `bytes` as the shard file of upload `id`.
    func stage(_ disk: Disk, _ id: String, _ bytes: [UInt8]) throws {
        try FileOps.writeSynced(try disk.beginStaging(uploadID: id), bytes)
    }

    @Test(
        "a node killed at any step of a commit comes back with the old version or the new one, whole",
        arguments: Disk.CommitStep.allCases)
    func crashAt(step: Disk.CommitStep) throws {
        let root = "/tmp/dc-crash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { FileOps.removeTree(root) }
        let before = try Disk(root: root)
        try before.makeBucket("b1b", created: 0)
        let old = version("null", time: 1, size: 3, etag: "old", dataDir: "0a0a", inline: nil)
        try stage(before, "0a0a", [1, 1, 1])
        try before.commit(bucket: "b1b", key: "k", version: old, stagedUploadID: "0a0a")

        let dying = try Disk(root: root) { reached throws(StorageError) in
            if reached == step { throw .io(path: "crash point", errno: 0, operation: "\(step)") }
        }
        let new = version("null", time: 2, size: 3, etag: "new", dataDir: "0b0b", inline: nil)
        try stage(dying, "0b0b", [2, 2, 2])
        #expect(throws: StorageError.self) {
            try dying.commit(bucket: "b1b", key: "k", version: new, stagedUploadID: "0b0b")
        }

        // The restart: what a node does before it serves.
        let after = try Disk(root: root)
        after.removeStaged()
        after.removeInterruptedCommits()
        let latest = try #require(try after.readMetadata(bucket: "b1b", key: "k").latest)
        let expected = step == .metadataRenamed ? new : old
        #expect(latest == expected)
        let shard = try after.shardPath(bucket: "b1b", key: "k", dataDir: expected.dataDir!)
        #expect(try FileOps.read(shard) == (expected == new ? [2, 2, 2] : [1, 1, 1]))
        // Nothing half-done is left: no staging, and no data folder that no version names.
        #expect(try FileOps.entries(root + "/.dc/tmp").isEmpty)
        let folders = try FileOps.entries(try after.objectPath(bucket: "b1b", key: "k"))
            .filter { $0.hasPrefix(ObjectKey.dataDirPrefix) }
        let named =
            try after.readMetadata(bucket: "b1b", key: "k").versions.compactMap(\.dataDir)
            + [try after.readMetadata(bucket: "b1b", key: "k").replaced?.version.dataDir].compactMap { $0 }
        #expect(Set(folders) == Set(named.map { ObjectKey.dataDirPrefix + $0 }))
    }
}
