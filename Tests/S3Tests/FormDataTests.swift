import Core
import Testing

@testable import S3

@Suite("form uploads")
struct FormDataTests {
    static let body = Array(
        ("--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"x-amz-meta-note\"; filename=\"\"\r\n\r\na \"quoted\" value\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".txt\"\r\nContent-Type: text/plain\r\n\r\n"
            + "line one\r\n--XyNot a boundary\r\n--X\r\n"
            + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n--XyZ--\r\n").utf8)

    /// Events of the body fed in pieces of `split` bytes, file bytes joined.
    static func events(split: Int) throws -> (fields: [String: String], file: [UInt8], name: String?) {
        var parser = FormDataParser(boundary: "XyZ")
        var fields: [String: String] = [:]
        var file: [UInt8] = []
        var name: String?
        var at = 0
        while at < body.count {
            let end = min(body.count, at + split)
            try body[at..<end].withUnsafeBytes { bytes in
                try parser.feed(bytes) { event in
                    switch event {
                    case .field(let n, let v): fields[n] = v
                    case .fileStart(let filename, let type):
                        name = filename
                        #expect(type == "text/plain")
                    case .fileData(let d): file += d
                    }
                }
            }
            at = end
        }
        try parser.finish()
        return (fields, file, name)
    }

    @Test("fields, a file with boundary-like lines in it, and nothing after it, however the body is split")
    func everySplit() throws {
        for split in [1, 2, 3, 5, 7, 13, 64, FormDataTests.body.count] {
            let (fields, file, name) = try FormDataTests.events(split: split)
            #expect(fields == ["key": "uploads/${filename}", "x-amz-meta-note": "a \"quoted\" value"])
            #expect(String(decoding: file, as: UTF8.self) == "line one\r\n--XyNot a boundary\r\n--X\r\n")
            #expect(name == "a \"b\".txt")
        }
    }

    @Test("the boundary comes from the Content-Type, quoted or not; other types have none")
    func boundary() {
        #expect(FormDataParser.boundary(contentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(FormDataParser.boundary(contentType: "Multipart/Form-Data;boundary=\"a b\"") == "a b")
        #expect(FormDataParser.boundary(contentType: "text/plain; boundary=abc") == nil)
        #expect(FormDataParser.boundary(contentType: "multipart/form-data") == nil)
    }

    @Test("a form without a file, a file cut short, and an endless field are refused")
    func refusals() throws {
        func run(_ text: String) throws {
            var parser = FormDataParser(boundary: "B")
            try Array(text.utf8).withUnsafeBytes { try parser.feed($0) { _ in } }
            try parser.finish()
        }
        #expect(throws: FormDataParser.Failure.self) {
            try run("--B\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--B--\r\n")
        }
        #expect(throws: FormDataParser.Failure.self) {
            try run("--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\npartial")
        }
        #expect(throws: FormDataParser.Failure.self) {
            try run(
                "--B\r\nContent-Disposition: form-data; name=\"big\"\r\n\r\n"
                    + String(repeating: "x", count: FormDataParser.fieldBytesMax + 100))
        }
    }

    @Test("a policy: conditions hold or name what failed, every field must be named, expiry counts")
    func policy() throws {
        let document = #"""
            {"expiration":"2026-12-31T00:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","up/"],
             ["content-length-range",1,10],["eq","$Content-Type","text/plain"]]}
            """#
        let policy = try PostPolicy(base64: Base64.encode(Array(document.utf8)))
        #expect(policy.lengthRange == 1...10)
        let now = WallTime(iso8601: "2026-12-06T00:00:00Z")!
        let fields = ["key": "up/a", "content-type": "text/plain", "policy": "p", "x-amz-signature": "s"]
        try policy.check(fields: fields, bucket: "b", now: now)
        #expect(throws: S3Error.self) { try policy.check(fields: fields, bucket: "other", now: now) }
        #expect(throws: S3Error.self) {
            try policy.check(fields: fields.merging(["key": "down/a"]) { $1 }, bucket: "b", now: now)
        }
        #expect(throws: S3Error.self) {
            try policy.check(fields: fields.merging(["acl": "private"]) { $1 }, bucket: "b", now: now)
        }
        try policy.check(fields: fields.merging(["x-ignore-me": "1"]) { $1 }, bucket: "b", now: now)
        #expect(throws: S3Error.self) {
            try policy.check(fields: fields, bucket: "b", now: WallTime(iso8601: "2027-01-01T00:00:00Z")!)
        }
    }
}
