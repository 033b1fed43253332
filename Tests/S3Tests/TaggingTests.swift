import Testing

@testable import S3

@Suite("object tags")
struct TaggingTests {
    @Test("a Tagging document and an x-amz-tagging header give the same tags, and write back in key order")
    func parse() throws {
        let xml = try XMLElement.parse(
            Array(
                "<Tagging><TagSet><Tag><Key>project</Key><Value>blue sky</Value></Tag><Tag><Key>a:b/c@d</Key><Value></Value></Tag></TagSet></Tagging>"
                    .utf8))
        let tags = try Tagging.parse(xml)
        #expect(tags == ["project": "blue sky", "a:b/c@d": ""])
        #expect(try Tagging.parse(header: "project=blue%20sky&a%3Ab%2Fc%40d=") == tags)
        #expect(try Tagging.parse(header: "") == [:])
        let document = Tagging.document(tags)
        #expect(try Tagging.parse(try XMLElement.parse(Array(document.utf8))) == tags)
        #expect(document.firstRange(of: "a:b/c@d")!.lowerBound < document.firstRange(of: "project")!.lowerBound)
    }

    @Test(
        "S3's limits: 10 tags, keys of 1 to 128 characters, values up to 256, no key twice, allowed characters",
        arguments: [
            ((0..<11).map { "k\($0)=v" }.joined(separator: "&"), "greater than 10"),
            ("=v", "TagKey"),
            (String(repeating: "k", count: 129) + "=v", "TagKey"),
            ("k=" + String(repeating: "v", count: 257), "TagValue"),
            ("k=1&k=2", "same key"),
            ("k%3Cscript%3E=v", "TagKey"),
        ])
    func limits(header: String, reason: String) {
        #expect {
            try Tagging.parse(header: header)
        } throws: { ($0 as? Tagging.Invalid)?.description.contains(reason) == true }
    }

    @Test("a key of exactly 128 characters and a value of 256, and 10 tags, are fine")
    func atTheLimits() throws {
        #expect(
            try Tagging.parse(header: String(repeating: "k", count: 128) + "=" + String(repeating: "v", count: 256))
                .count == 1)
        #expect(try Tagging.parse(header: (0..<10).map { "k\($0)=v" }.joined(separator: "&")).count == 10)
    }
}
