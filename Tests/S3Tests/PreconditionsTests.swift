import Core
import HTTP
import Testing

@testable import S3

@Suite("conditional requests")
struct PreconditionsTests {
    let modified: Int64 = 1_700_000_000_500  // ms; whole second 1_700_000_000

    func check(_ headers: HTTPHeaders) -> Preconditions.Outcome {
        Preconditions(headers).evaluate(etag: "abc", modified: modified)
    }

    @Test("If-Match and If-None-Match compare ETags, quoted or weak, and * matches any")
    func etags() {
        #expect(check(["If-Match": "\"abc\""]) == .proceed)
        #expect(check(["If-Match": "\"x\", \"abc\""]) == .proceed)
        #expect(check(["If-Match": "\"x\""]) == .failed)
        #expect(check(["If-None-Match": "W/\"abc\""]) == .notModified)
        #expect(check(["If-None-Match": "*"]) == .notModified)
        #expect(check(["If-None-Match": "\"x\""]) == .proceed)
    }

    @Test("dates compare at whole seconds; If-Match wins over If-Unmodified-Since as in S3")
    func dates() {
        let same = WallTime(millisecondsSinceEpoch: modified).httpDate
        let before = WallTime(millisecondsSinceEpoch: modified - 3_600_000).httpDate
        #expect(check(["If-Modified-Since": same]) == .notModified)
        #expect(check(["If-Modified-Since": before]) == .proceed)
        #expect(check(["If-Unmodified-Since": before]) == .failed)
        #expect(check(["If-Unmodified-Since": same]) == .proceed)
        #expect(check(["If-Match": "abc", "If-Unmodified-Since": before]) == .proceed)
        #expect(check(["If-None-Match": "\"x\"", "If-Modified-Since": same]) == .proceed)
        #expect(check(["If-Modified-Since": "not a date"]) == .proceed)
    }

    @Test("conditional writes: create-only and compare-and-swap")
    func writes() {
        #expect(Preconditions(["If-None-Match": "*"]).evaluateWrite(currentETag: nil) == .proceed)
        #expect(Preconditions(["If-None-Match": "*"]).evaluateWrite(currentETag: "abc") == .failed)
        #expect(Preconditions(["If-Match": "\"abc\""]).evaluateWrite(currentETag: "abc") == .proceed)
        #expect(Preconditions(["If-Match": "\"abc\""]).evaluateWrite(currentETag: "new") == .failed)
        #expect(Preconditions(["If-Match": "\"abc\""]).evaluateWrite(currentETag: nil) == .failed)
        #expect(Preconditions(["If-Match": "*"]).evaluateWrite(currentETag: "any") == .proceed)
        #expect(Preconditions(["If-Match": "*"]).evaluateWrite(currentETag: nil) == .failed)
        #expect(Preconditions(["If-None-Match": "\"abc\""]).evaluateWrite(currentETag: "abc") == .failed)
        #expect(Preconditions(["If-None-Match": "\"abc\""]).evaluateWrite(currentETag: "new") == .proceed)
        #expect(Preconditions(["If-None-Match": "\"abc\""]).evaluateWrite(currentETag: nil) == .proceed)
    }

    @Test("HTTP dates parse in RFC 7231's form and as RFC 3339; junk does not")
    func httpDates() {
        #expect(WallTime(httpDate: "Tue, 14 Nov 2023 22:13:20 GMT")?.millisecondsSinceEpoch == 1_700_000_000_000)
        #expect(WallTime(httpDate: "2023-11-14T22:13:20.000Z")?.millisecondsSinceEpoch == 1_700_000_000_000)
        #expect(WallTime(httpDate: "Tue, 14 Nov 2023 25:13:20 GMT") == nil)
        #expect(WallTime(httpDate: "yesterday") == nil)
    }

    @Test("a Delete document gives its keys, versions and Quiet flag; a malformed one is MalformedXML")
    func deleteDocument() throws {
        let doc = Array(
            "<Delete><Quiet>true</Quiet><Object><Key>a b</Key></Object><Object><Key>c</Key><VersionId>v1</VersionId></Object></Delete>"
                .utf8)
        let (quiet, keys) = try S3Exchange.deleteRequest(doc)
        #expect(quiet && keys.map(\.key) == ["a b", "c"] && keys.map(\.versionID) == [nil, "v1"])
        #expect(throws: S3Error.self) { try S3Exchange.deleteRequest(Array("<Delete></Delete>".utf8)) }
        #expect(throws: S3Error.self) { try S3Exchange.deleteRequest(Array("<Delete><Object></Object>".utf8)) }
    }
}
