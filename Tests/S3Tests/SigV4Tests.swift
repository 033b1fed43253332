import Core
import HTTP
import Testing

@testable import S3

/// The worked examples of AWS's "Signature Calculations for the Authorization Header" and "Authenticating
/// Requests: Using Query Parameters" and "Signature Calculations for the Authorization Header: Transferring
/// Payload in Multiple Chunks" pages.
enum AWSExample {
    static let accessKey = "AKIAIOSFODNN7EXAMPLE"
    static let secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let now = SigV4.parseAmzDate("20130524T000000Z")!
}

func head(_ method: String, _ target: String, _ headers: [(String, String)]) -> (HTTPRequestHead, QueryParameters) {
    let h = HTTPRequestHead(method: method, target: target, headers: HTTPHeaders(headers))
    return (h, QueryParameters(parsing: h.query)!)
}

@Suite("SigV4")
struct SigV4Tests {
    @Test("AWS's GET object example verifies, and any change breaks it")
    func getObject() throws {
        let (h, q) = head(
            "GET", "/test.txt",
            [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", SigV4.emptySHA256),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
                ),
            ])
        let claim = try SigV4.claim(h, query: q)
        try SigV4.verify(
            claim, head: h, query: q, accessKey: AWSExample.accessKey, secretKey: AWSExample.secretKey,
            now: AWSExample.now)
        #expect(throws: SigV4.Failure.signatureMismatch) {
            try SigV4.verify(
                claim, head: h, query: q, accessKey: AWSExample.accessKey, secretKey: "wrong", now: AWSExample.now)
        }
        let (other, q2) = head("GET", "/test2.txt", h.headers.fields.map { ($0.name, $0.value) })
        #expect(throws: SigV4.Failure.signatureMismatch) {
            try SigV4.verify(
                claim, head: other, query: q2, accessKey: AWSExample.accessKey, secretKey: AWSExample.secretKey,
                now: AWSExample.now)
        }
        #expect(throws: SigV4.Failure.unknownAccessKey(AWSExample.accessKey)) {
            try SigV4.verify(
                claim, head: h, query: q, accessKey: "minioadmin", secretKey: AWSExample.secretKey, now: AWSExample.now)
        }
        let later = WallTime(millisecondsSinceEpoch: AWSExample.now.millisecondsSinceEpoch + 16 * 60_000)
        #expect(throws: SigV4.Failure.self) {
            try SigV4.verify(
                claim, head: h, query: q, accessKey: AWSExample.accessKey, secretKey: AWSExample.secretKey, now: later)
        }
    }

    @Test("AWS's PUT object example with a signed payload verifies")
    func putObject() throws {
        let (h, q) = head(
            "PUT", "/test%24file.text",
            [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
                ),
            ])
        try SigV4.verify(
            try SigV4.claim(h, query: q), head: h, query: q, accessKey: AWSExample.accessKey,
            secretKey: AWSExample.secretKey, now: AWSExample.now)
        #expect(
            Crypto.sha256(Array("Welcome to Amazon S3.".utf8)).hexString
                == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    }

    @Test("AWS's GET bucket lifecycle and list objects examples verify (query strings in the canonical form)")
    func queries() throws {
        let (h, q) = head(
            "GET", "/?max-keys=2&prefix=J",
            [
                ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", SigV4.emptySHA256),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
                ),
            ])
        try SigV4.verify(
            try SigV4.claim(h, query: q), head: h, query: q, accessKey: AWSExample.accessKey,
            secretKey: AWSExample.secretKey, now: AWSExample.now)
        let (l, lq) = head(
            "GET", "/?lifecycle",
            [
                ("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", SigV4.emptySHA256),
                ("x-amz-date", "20130524T000000Z"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
                ),
            ])
        try SigV4.verify(
            try SigV4.claim(l, query: lq), head: l, query: lq, accessKey: AWSExample.accessKey,
            secretKey: AWSExample.secretKey, now: AWSExample.now)
    }

    @Test("AWS's presigned URL example verifies within its validity and expires after it")
    func presigned() throws {
        let (h, q) = head(
            "GET",
            "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
            [("Host", "examplebucket.s3.amazonaws.com")])
        let claim = try SigV4.claim(h, query: q)
        #expect(claim.presigned && claim.payloadHash == SigV4.unsignedPayload)
        let hourLater = WallTime(millisecondsSinceEpoch: AWSExample.now.millisecondsSinceEpoch + 3_600_000)
        try SigV4.verify(
            claim, head: h, query: q, accessKey: AWSExample.accessKey, secretKey: AWSExample.secretKey, now: hourLater)
        let dayLater = WallTime(millisecondsSinceEpoch: AWSExample.now.millisecondsSinceEpoch + 86_401_000)
        #expect(throws: SigV4.Failure.urlExpired("the presigned URL expired")) {
            try SigV4.verify(
                claim, head: h, query: q, accessKey: AWSExample.accessKey, secretKey: AWSExample.secretKey,
                now: dayLater)
        }
    }

    @Test("what the client signer produces, the server verifies")
    func signerRoundTrip() throws {
        var headers: HTTPHeaders = ["x-amz-meta-color": "blue"]
        let now = WallTime.now()
        SigV4.sign(
            method: "PUT", target: "/b/k%20x?partNumber=1&uploadId=abc", headers: &headers, host: "127.0.0.1:8080",
            accessKey: "ak", secretKey: "sk-secret", region: "us-east-1", now: now)
        let h = HTTPRequestHead(method: "PUT", target: "/b/k%20x?partNumber=1&uploadId=abc", headers: headers)
        let q = QueryParameters(parsing: h.query)!
        let claim = try SigV4.claim(h, query: q)
        try SigV4.verify(claim, head: h, query: q, accessKey: "ak", secretKey: "sk-secret", now: now)
        #expect(claim.signedHeaders == ["host", "x-amz-content-sha256", "x-amz-date", "x-amz-meta-color"])
    }

    @Test(
        "malformed authorization is refused with a reason",
        arguments: [
            "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
            "AWS4-HMAC-SHA256 Credential=x,SignedHeaders=host,Signature=1",
            "Bearer token", "AWS4-HMAC-SHA256 Credential=A/20130524/us-east-1/s3/aws4_request",
        ])
    func malformed(authorization: String) {
        let (h, q) = head(
            "GET", "/", [("Host", "x"), ("x-amz-date", "20130524T000000Z"), ("Authorization", authorization)])
        #expect(throws: SigV4.Failure.self) { try SigV4.claim(h, query: q) }
    }
}

@Suite("aws-chunked")
struct AWSChunkedTests {
    /// AWS's multiple-chunks example: 65536 bytes then 1024 bytes of 'a', signed.
    static func example() -> (SigV4.Claim, [UInt8], [UInt8]) {
        let (h, q) = head(
            "PUT", "/examplebucket/chunkObject.txt",
            [
                ("Host", "s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ("x-amz-content-sha256", SigV4.streamingSigned), ("Content-Encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("Content-Length", "66824"),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
                ),
            ])
        let claim = try! SigV4.claim(h, query: q)
        try! SigV4.verify(
            claim, head: h, query: q, accessKey: AWSExample.accessKey, secretKey: AWSExample.secretKey,
            now: AWSExample.now)
        let data = [UInt8](repeating: UInt8(ascii: "a"), count: 66560)
        var body = Array(
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".utf8)
        body += data[..<65536] + Array("\r\n".utf8)
        body += Array("400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".utf8)
        body += data[65536...] + Array("\r\n".utf8)
        body += Array("0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".utf8)
        return (claim, body, data)
    }

    func decode(
        _ body: [UInt8], _ decoder: inout AWSChunkedDecoder, pieces: [Int]
    ) throws(AWSChunkedDecoder.Failure) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        for n in pieces {
            let end = min(body.count, offset + n)
            let piece = Array(body[offset..<end])
            let pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: piece.count, alignment: 1)
            defer { pointer.deallocate() }
            pointer.copyBytes(from: piece)
            try decoder.feed(UnsafeRawBufferPointer(pointer)) { out.append(contentsOf: $0) }
            offset = end
        }
        return out
    }

    @Test(
        "AWS's signed chunk example decodes however it is split, and every chunk signature checks",
        arguments: [1, 7, 4096, 100_000])
    func signedExample(piece: Int) throws {
        let (claim, body, data) = AWSChunkedTests.example()
        var decoder = AWSChunkedDecoder(
            signing: .signed(
                claim: claim, signingKey: SigV4.signingKey(secretKey: AWSExample.secretKey, scope: claim.scope)),
            expectsTrailer: false)
        let out = try decode(body, &decoder, pieces: Array(repeating: piece, count: body.count / piece + 1))
        #expect(out == data)
        #expect(decoder.isDone)
    }

    @Test("a tampered chunk fails its signature")
    func tampered() {
        let (claim, body, _) = AWSChunkedTests.example()
        var bad = body
        bad[200] = UInt8(ascii: "b")
        var decoder = AWSChunkedDecoder(
            signing: .signed(
                claim: claim, signingKey: SigV4.signingKey(secretKey: AWSExample.secretKey, scope: claim.scope)),
            expectsTrailer: false)
        #expect(throws: AWSChunkedDecoder.Failure.signatureMismatch(chunk: 0)) {
            _ = try decode(bad, &decoder, pieces: [bad.count])
        }
    }

    @Test("an unsigned body with a trailing checksum decodes and yields the trailer")
    func unsignedTrailer() throws {
        let payload = Array("Hello, trailer!".utf8)
        let crc = Base64.encode(RunningChecksum.compute(.crc32, payload))
        let body = Array("f\r\n".utf8) + payload + Array("\r\n0\r\nx-amz-checksum-crc32:\(crc)\r\n\r\n".utf8)
        var decoder = AWSChunkedDecoder(signing: .unsigned, expectsTrailer: true)
        var g = SeededGenerator(seed: 7)
        var pieces: [Int] = []
        var left = body.count
        while left > 0 {
            let n = Int.random(in: 1...9, using: &g)
            pieces.append(n)
            left -= n
        }
        #expect(try decode(body, &decoder, pieces: pieces) == payload)
        #expect(decoder.trailers.first?.name == "x-amz-checksum-crc32" && decoder.trailers.first?.value == crc)
        #expect(decoder.isDone)
    }

    @Test(
        "malformed framing is refused",
        arguments: [
            "zz\r\nabc\r\n0\r\n\r\n", "3\r\nabcd\r\n0\r\n\r\n", "3\nabc\r\n0\r\n\r\n", "3\r\nabc\r\n0\r\n\r\nextra",
            "ffffffff\r\n",
        ])
    func malformed(text: String) {
        var decoder = AWSChunkedDecoder(signing: .unsigned, expectsTrailer: false)
        #expect(throws: AWSChunkedDecoder.Failure.self) {
            _ = try decode(Array(text.utf8), &decoder, pieces: [text.utf8.count])
        }
    }
}

@Suite("SigV2")
struct SigV2Tests {
    // AWS's Signature Version 2 examples ("Signing and Authenticating REST Requests").
    static let key = "AKIAIOSFODNN7EXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    @Test("AWS's object GET example verifies from its header")
    func header() throws {
        let (h, q) = head(
            "GET", "/awsexamplebucket1/photos/puppy.jpg",
            [
                ("Host", "s3.us-west-1.amazonaws.com"), ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="),
            ])
        let claim = try #require(try SigV2.claim(h, query: q))
        try SigV2.verify(claim, head: h, query: q, accessKey: SigV2Tests.key, secretKey: SigV2Tests.secret, now: .now())
        #expect(throws: SigV4.Failure.signatureMismatch) {
            try SigV2.verify(claim, head: h, query: q, accessKey: SigV2Tests.key, secretKey: "other", now: .now())
        }
    }

    @Test("AWS's query string example verifies before its expiry and not after")
    func presigned() throws {
        let (h, q) = head(
            "GET",
            "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
            [("Host", "johnsmith.s3.amazonaws.com")])
        let claim = try #require(try SigV2.claim(h, query: q))
        // Virtual-host style: the bucket comes from the Host header and is signed as the start of the resource.
        try SigV2.verify(
            claim, head: h, query: q, virtualBucket: "johnsmith", accessKey: SigV2Tests.key,
            secretKey: SigV2Tests.secret,
            now: WallTime(millisecondsSinceEpoch: 1_175_139_000_000))
        #expect(throws: SigV4.Failure.urlExpired("the presigned URL expired")) {
            try SigV2.verify(
                claim, head: h, query: q, virtualBucket: "johnsmith", accessKey: SigV2Tests.key,
                secretKey: SigV2Tests.secret,
                now: WallTime(millisecondsSinceEpoch: 1_175_139_621_000))
        }
    }
}
