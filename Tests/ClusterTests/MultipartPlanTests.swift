import Core
import Storage
import Testing

@testable import Cluster

@Suite("multipart plan")
struct MultipartPlanTests {
    let set = try! ErasureSet(nodes: 4, parity: 2)
    let upload = MultipartUpload(
        uploadID: "ab", bucket: "b1b", key: "k", initiated: 1,
        template: ObjectVersion(versionID: "null", modTime: 0, size: 0, etag: ""))

    func part(_ n: Int, _ etag: String, _ size: Int64 = 5 << 20) -> PartInfo {
        PartInfo(number: n, size: size, etag: etag)
    }

    func states(_ holdings: [Int: [PartInfo]]) -> [NodeID: UploadState] {
        Dictionary(
            uniqueKeysWithValues: holdings.map {
                (NodeID.forIndex($0.key), UploadState(upload: upload, parts: $0.value))
            })
    }

    @Test("an upload exists when a read quorum holds it, and is gone when no write quorum can")
    func resolve() {
        let found: Result<UploadState, StoreError> = .success(UploadState(upload: upload, parts: []))
        let missing: Result<UploadState, StoreError> = .failure(.storage(.uploadNotFound("ab")))
        let down: Result<UploadState, StoreError> = .failure(.unreachable("down"))
        func answers(_ r: [Result<UploadState, StoreError>]) -> [NodeID: Result<UploadState, StoreError>] {
            Dictionary(uniqueKeysWithValues: r.enumerated().map { (NodeID.forIndex($0.offset), $0.element) })
        }
        guard
            case .found = MultipartPlan.resolve(
                answers([found, found, missing, down]), bucket: "b1b", key: "k", set: set)
        else {
            Issue.record("two of four hold it: found")
            return
        }
        #expect(
            MultipartPlan.resolve(answers([found, missing, missing, down]), bucket: "b1b", key: "k", set: set)
                == .notFound)
        #expect(
            MultipartPlan.resolve(answers([found, missing, down, down]), bucket: "b1b", key: "k", set: set)
                == .unavailable(answered: 2, needed: 2))
        // Another key's upload id is not this key's.
        #expect(
            MultipartPlan.resolve(answers([found, found, found, found]), bucket: "b1b", key: "x", set: set) == .notFound
        )
    }

    func asked(_ parts: [(Int, String)]) -> [MultipartPlan.RequestedPart] {
        parts.map { MultipartPlan.RequestedPart(number: $0.0, etag: $0.1) }
    }

    @Test("a completion takes the parts held with their ETag on k nodes, by the nodes holding all of them")
    func completion() throws {
        let s = states([
            0: [part(1, "aa"), part(2, "bb", 10)], 1: [part(1, "aa"), part(2, "bb", 10)], 2: [part(1, "aa")],
            3: [part(1, "aa"), part(2, "bb", 10)],
        ])
        let plan = try MultipartPlan.completion(requested: asked([(1, "\"AA\""), (2, "bb")]), states: s, set: set).get()
        #expect(plan.parts.map(\.number) == [1, 2])
        #expect(plan.nodes == ["node1", "node2", "node4"])
        #expect(
            MultipartPlan.completion(requested: asked([(2, "bb"), (1, "aa")]), states: s, set: set)
                == .failure(.invalidPartOrder))
        #expect(
            MultipartPlan.completion(requested: asked([(1, "aa"), (1, "aa")]), states: s, set: set)
                == .failure(.invalidPartOrder))
        #expect(
            MultipartPlan.completion(requested: asked([(1, "zz")]), states: s, set: set)
                == .failure(.invalidPart(number: 1)))
        #expect(
            MultipartPlan.completion(requested: asked([(2, "bb"), (3, "cc")]), states: s, set: set)
                == .failure(.entityTooSmall(number: 2, size: 10)))
    }

    @Test("a part held by fewer than k nodes cannot be completed")
    func tooFewHolders() {
        let s = states([0: [part(1, "aa")], 1: [], 2: [], 3: []])
        #expect(
            MultipartPlan.completion(requested: asked([(1, "aa")]), states: s, set: set)
                == .failure(.invalidPart(number: 1)))
    }

    @Test("the ETag is the MD5 of the parts' MD5s and their count; composite checksums likewise")
    func etag() {
        let a = Crypto.md5(Array("first".utf8))
        let b = Crypto.md5(Array("second".utf8))
        let parts = [part(1, a.hexString), part(2, b.hexString)]
        #expect(MultipartPlan.etag(of: parts) == Crypto.md5(a + b).hexString + "-2")
        var withSums = parts
        withSums[0].checksums = ["CRC32": Base64.encode([0, 0, 0, 1])]
        #expect(MultipartPlan.compositeChecksums(of: withSums).isEmpty)  // not every part has one
        withSums[1].checksums = ["CRC32": Base64.encode([0, 0, 0, 2])]
        var crc = RunningChecksum(.crc32)
        [UInt8]([0, 0, 0, 1, 0, 0, 0, 2]).withUnsafeBytes { crc.update($0) }
        #expect(MultipartPlan.compositeChecksums(of: withSums) == ["CRC32": Base64.encode(crc.finish()) + "-2"])
    }

    @Test("a full-object checksum is the CRC of the parts' bytes; a part named with another checksum is not taken")
    func fullObject() throws {
        let bytes = [Array("first part ".utf8), Array("and the second".utf8)]
        let parts = bytes.enumerated().map { i, b in
            PartInfo(
                number: i + 1, size: Int64(b.count), etag: Crypto.md5(b).hexString,
                checksums: ["CRC32C": Base64.encode(RunningChecksum.compute(.crc32c, b))])
        }
        let full = MultipartChecksum(algorithm: .crc32c, type: .fullObject)
        let whole = Base64.encode(RunningChecksum.compute(.crc32c, bytes[0] + bytes[1]))
        #expect(MultipartPlan.checksums(of: parts, full) == ["CRC32C": whole])
        #expect(MultipartPlan.checksums(of: parts, nil)["CRC32C"]?.hasSuffix("-2") == true)
        var lacking = parts
        lacking[1].checksums = nil  // no value rather than a wrong one
        #expect(MultipartPlan.checksums(of: lacking, full).isEmpty)
        #expect(MultipartPlan.sameChecksum(whole, whole) && !MultipartPlan.sameChecksum(nil, whole))
        #expect(MultipartPlan.sameChecksum("abc=-2", "abc=") && !MultipartPlan.sameChecksum("abc=-2", "abd="))

        let s = states([0: parts, 1: parts, 2: parts, 3: parts])
        let named = { (sum: String) in
            [MultipartPlan.RequestedPart(number: 1, etag: parts[0].etag, checksums: ["CRC32C": sum])]
        }
        #expect(
            try MultipartPlan.completion(requested: named(parts[0].checksums!["CRC32C"]!), states: s, set: set).get()
                .parts == [parts[0]])
        #expect(
            MultipartPlan.completion(requested: named("AAAAAA=="), states: s, set: set)
                == .failure(.invalidPart(number: 1)))
    }

    @Test("parts agreed on are those a read quorum holds with the same ETag")
    func agreed() {
        let s = states([
            0: [part(1, "aa"), part(2, "new")], 1: [part(1, "aa"), part(2, "new")], 2: [part(2, "old")], 3: [],
        ])
        #expect(MultipartPlan.agreedParts(s, set: set).map(\.etag) == ["aa", "new"])
    }
}

@Suite("version listings")
struct VersionListingTests {
    func v(_ id: String, _ t: Int64, marker: Bool = false) -> ObjectVersion {
        ObjectVersion(versionID: id, modTime: t, size: 1, etag: "e\(id)", isDeleteMarker: marker)
    }

    func page(_ entries: [(String, [ObjectVersion])], truncated: Bool = false) -> ListPage {
        ListPage(
            entries: entries.map { ListEntry(key: $0.0, version: $0.1[0], versions: $0.1) }, isTruncated: truncated,
            nextMarker: entries.last?.0)
    }

    @Test("versions a read quorum holds are listed newest first; the newest is the latest")
    func merged() {
        let a = [v("a3", 3, marker: true), v("a2", 2), v("a1", 1)]
        let pages = [page([("a", a), ("b", [v("b1", 1)])]), page([("a", Array(a.dropFirst())), ("b", [v("b1", 1)])])]
        let out = Quorum.mergeVersions(pages, readQuorum: 2, keyMarker: "", versionIDMarker: "", limit: 10)
        #expect(out.entries.map(\.version.versionID) == ["a2", "a1", "b1"])
        #expect(out.entries.map(\.isLatest) == [true, false, true])
        #expect(!out.isTruncated)
    }

    @Test("pages cut inside a key resume at its next version")
    func paging() {
        let a = [v("a3", 3), v("a2", 2), v("a1", 1)]
        let pages = [page([("a", a), ("b", [v("b1", 1)])]), page([("a", a), ("b", [v("b1", 1)])])]
        let first = Quorum.mergeVersions(pages, readQuorum: 2, keyMarker: "", versionIDMarker: "", limit: 2)
        #expect(first.entries.map(\.version.versionID) == ["a3", "a2"] && first.isTruncated)
        #expect(first.nextKeyMarker == "a" && first.nextVersionIDMarker == "a2")
        let second = Quorum.mergeVersions(pages, readQuorum: 2, keyMarker: "a", versionIDMarker: "a2", limit: 2)
        #expect(second.entries.map(\.version.versionID) == ["a1", "b1"])
        let afterKey = Quorum.mergeVersions(pages, readQuorum: 2, keyMarker: "a", versionIDMarker: "", limit: 5)
        #expect(afterKey.entries.map(\.version.versionID) == ["b1"])
    }
}
