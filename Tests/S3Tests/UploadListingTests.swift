import Storage
import Testing

@testable import S3

@Suite("multipart upload listing")
struct UploadListingTests {
    func uploads(_ keys: [(String, String)]) -> [MultipartUpload] {
        keys.enumerated().map { i, k in
            MultipartUpload(
                uploadID: k.1, bucket: "b1b", key: k.0, initiated: Int64(i),
                template: ObjectVersion(versionID: "null", modTime: 0, size: 0, etag: ""))
        }
    }

    @Test("pages by key and upload id markers, and folds keys under a delimiter into common prefixes")
    func paging() {
        let all = uploads([("a", "1"), ("a", "2"), ("b/x", "3"), ("b/y", "4"), ("c", "5")])
        let first = UploadListing.page(all, prefix: "", delimiter: nil, keyMarker: "", uploadIDMarker: "", limit: 2)
        #expect(first.uploads.map(\.uploadID) == ["1", "2"] && first.isTruncated)
        #expect(first.nextKeyMarker == "a" && first.nextUploadIDMarker == "2")
        let second = UploadListing.page(all, prefix: "", delimiter: nil, keyMarker: "a", uploadIDMarker: "1", limit: 2)
        #expect(second.uploads.map(\.uploadID) == ["2", "3"])
        let afterKey = UploadListing.page(all, prefix: "", delimiter: nil, keyMarker: "a", uploadIDMarker: "", limit: 9)
        #expect(afterKey.uploads.map(\.uploadID) == ["3", "4", "5"] && !afterKey.isTruncated)
        let folded = UploadListing.page(all, prefix: "", delimiter: "/", keyMarker: "", uploadIDMarker: "", limit: 9)
        #expect(folded.uploads.map(\.key) == ["a", "a", "c"] && folded.prefixes == ["b/"])
        let under = UploadListing.page(all, prefix: "b/", delimiter: "/", keyMarker: "", uploadIDMarker: "", limit: 9)
        #expect(under.uploads.map(\.uploadID) == ["3", "4"] && under.prefixes.isEmpty)
    }
}
