import Foundation
import Storage
import Testing

@testable import S3

@Suite("CORS")
struct CORSTests {
    static let rules = [
        CORSRule(
            allowedOrigins: ["https://*.example.com", "http://localhost:3000"], allowedMethods: ["GET", "PUT"],
            allowedHeaders: ["content-type", "x-amz-*"], exposeHeaders: ["ETag"], maxAgeSeconds: 60),
        CORSRule(allowedOrigins: ["*"], allowedMethods: ["GET"]),
    ]

    @Test("the first rule allowing origin, method and every requested header decides")
    func matching() {
        let rules = CORSTests.rules
        #expect(CORS.rule(in: rules, origin: "https://app.example.com", method: "PUT") == rules[0])
        #expect(CORS.rule(in: rules, origin: "https://example.com", method: "PUT") == nil)
        #expect(CORS.rule(in: rules, origin: "https://example.com", method: "GET") == rules[1])
        #expect(
            CORS.rule(
                in: rules, origin: "http://localhost:3000", method: "PUT", headers: ["content-type", "x-amz-meta-a"])
                == rules[0])
        #expect(
            CORS.rule(in: rules, origin: "http://localhost:3000", method: "PUT", headers: ["authorization"]) == nil)
        #expect(Wildcard.matches("a*", "a") && Wildcard.matches("*", "") && !Wildcard.matches("ab*ba", "aba"))
        #expect(Wildcard.matches("a*b*c?", "aXbbYcZ") && !Wildcard.matches("a*b*c?", "aXbbYc"))
        #expect(
            Wildcard.matches("S3:get*", "s3:GetObject", ignoringCase: true)
                && !Wildcard.matches("S3:get*", "s3:GetObject"))
    }

    @Test("a named origin gets itself and credentials back; a wildcard rule answers *")
    func headers() {
        let named = CORS.headers(CORSTests.rules[0], origin: "http://localhost:3000", requestedHeaders: ["x-amz-a"])
        #expect(named["Access-Control-Allow-Origin"] == "http://localhost:3000")
        #expect(named["Access-Control-Allow-Credentials"] == "true")
        #expect(named["Access-Control-Allow-Headers"] == "x-amz-a" && named["Access-Control-Max-Age"] == "60")
        let any = CORS.headers(CORSTests.rules[1], origin: "http://x")
        #expect(any["Access-Control-Allow-Origin"] == "*" && any["Access-Control-Allow-Credentials"] == nil)
    }

    @Test("a configuration reads back as written; bad methods, wildcards and shapes are refused")
    func documents() throws {
        let info = BucketInfo(name: "b", created: 0)
        let parsed = try CORS.parse(Array(CORS.document(CORSTests.rules).utf8), bucket: info)
        #expect(parsed == CORSTests.rules)
        for bad in [
            "<CORSConfiguration/>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
            "<Other/>",
        ] {
            #expect(throws: S3Error.self) { try CORS.parse(Array(bad.utf8), bucket: info) }
        }
    }
}

@Suite("CORS documents read back")
struct CORSRoundTripTests {
    /// The input `make fuzz` found (fuzz/corpus/bucket-documents): an origin with control characters
    /// was taken, and a Get printed them as U+FFFD, which read back as other rules.
    @Test("a document with a character XML cannot carry is refused, not stored")
    func fuzzFound() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let file = "/" + path + "/fuzz/corpus/bucket-documents/crash-e297e3e8f406f19d3e6adbab416dd9809d7add27"
        let body = Array(try Data(contentsOf: URL(fileURLWithPath: file)).dropFirst())
        #expect(throws: S3Error.self) { try CORS.parse(body, bucket: BucketInfo(name: "fuzz-bucket", created: 0)) }
        let clean = Array(
            String(decoding: body, as: UTF8.self).filter { $0.asciiValue.map { $0 >= 0x20 } ?? true }.utf8)
        let rules = try CORS.parse(clean, bucket: BucketInfo(name: "fuzz-bucket", created: 0))
        #expect(
            try CORS.parse(Array(CORS.document(rules).utf8), bucket: BucketInfo(name: "fuzz-bucket", created: 0))
                == rules)
    }
}
