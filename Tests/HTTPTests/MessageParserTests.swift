import Core
import Testing

@testable import HTTP

/// Collects what a parser reports.
final class Recorder: MessageParserDelegate {
    var heads: [MessageParser.Head] = []
    var bodies: [[UInt8]] = []
    var completed = 0
    var pauseInBodyAfter: Int?
    weak var parser: MessageParser?

    func parserDidReceiveHead(_ head: MessageParser.Head) -> MessageParser.HeadDisposition {
        heads.append(head)
        bodies.append([])
        return .proceed
    }

    func parserDidReceiveBody(_ bytes: UnsafeRawBufferPointer) {
        bodies[bodies.count - 1].append(contentsOf: bytes)
        if let limit = pauseInBodyAfter, bodies[bodies.count - 1].count >= limit { parser?.pause() }
    }

    func parserDidCompleteMessage() { completed += 1 }
}

/// Feeds `input` in the given pieces, resuming after every pause, like a connection does.
func parse(
    _ input: [UInt8], pieces: [Int], kind: MessageParser.Kind = .request, headerBytesMax: Int = 16 * 1024,
    headerCountMax: Int = 100, pauseInBodyAfter: Int? = nil
)
    -> (Recorder, MessageParser.Failure?)
{
    let parser = MessageParser(kind: kind, headerBytesMax: headerBytesMax, headerCountMax: headerCountMax)
    let recorder = Recorder()
    recorder.parser = parser
    recorder.pauseInBodyAfter = pauseInBodyAfter
    parser.delegate = recorder
    var offset = 0
    var pending: [UInt8] = []
    for size in pieces {
        pending += input[offset..<min(input.count, offset + size)]
        offset += size
        while !pending.isEmpty {
            if parser.isPaused { parser.resume() }
            let result = pending.withUnsafeBytes { parser.feed($0) }
            switch result {
            case .consumed: pending = []
            case .paused(let consumed): pending = Array(pending[consumed...])
            case .failed(let failure): return (recorder, failure)
            }
        }
    }
    return (recorder, nil)
}

/// Split points: whole, byte by byte, and seeded random cuts.
func splits(_ count: Int, seed: UInt64) -> [[Int]] {
    var rng = SeededGenerator(seed: seed)
    var random: [Int] = []
    var left = count
    while left > 0 {
        let n = Int(rng.next() % 7) + 1
        random.append(min(n, left))
        left -= n
    }
    return [[count], Array(repeating: 1, count: count), random]
}

@Suite("HTTP message parser")
struct MessageParserTests {
    static let seeds: [UInt64] = [1, 2, 3, 42, 1234]

    @Test("a request with a Content-Length body parses the same however the bytes are split", arguments: seeds)
    func contentLength(seed: UInt64) {
        let input = Array(
            "PUT /bucket/key%20x?versionId=1 HTTP/1.1\r\nHost: a\r\nX-Amz-Meta-Color: blue\r\nContent-Length: 11\r\n\r\nhello world"
                .utf8)
        for pieces in splits(input.count, seed: seed) {
            let (r, failure) = parse(input, pieces: pieces)
            #expect(failure == nil)
            #expect(r.completed == 1)
            #expect(r.heads.first?.method == "PUT")
            #expect(r.heads.first?.target == "/bucket/key%20x?versionId=1")
            #expect(r.heads.first?.headers["x-amz-meta-color"] == "blue")
            #expect(r.heads.first?.contentLength == 11)
            #expect(r.bodies.first == Array("hello world".utf8))
        }
    }

    @Test("a chunked body with extensions and trailers is reassembled", arguments: seeds)
    func chunked(seed: UInt64) {
        let input = Array(
            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
                .utf8)
        for pieces in splits(input.count, seed: seed) {
            let (r, failure) = parse(input, pieces: pieces)
            #expect(failure == nil)
            #expect(r.completed == 1)
            #expect(r.heads.first?.isChunked == true)
            #expect(r.bodies.first == Array("hello world".utf8))
        }
    }

    @Test("pipelined requests come out one by one, in order", arguments: seeds)
    func pipelined(seed: UInt64) {
        let one = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        let two = "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
        let three = "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n"
        let input = Array((one + two + three).utf8)
        for pieces in splits(input.count, seed: seed) {
            let (r, failure) = parse(input, pieces: pieces)
            #expect(failure == nil)
            #expect(r.heads.map(\.target) == ["/a", "/b", "/c"])
            #expect(r.bodies == [[], Array("abc".utf8), []])
            #expect(r.heads.map(\.keepAlive) == [true, true, false])
            #expect(r.completed == 3)
        }
    }

    @Test("pausing inside the body stops the parser at that point and loses nothing")
    func pauseInBody() {
        let body = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        let input = Array("PUT /x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n".utf8) + body
        // 100-byte pieces so pauses land in the middle of reads; the recorder pauses after every chunk.
        let pieces = Array(repeating: 100, count: input.count / 100 + 1)
        let (recorder, failure) = parse(input, pieces: pieces, pauseInBodyAfter: 1)
        #expect(failure == nil)
        #expect(recorder.bodies.first == body)
        #expect(recorder.completed == 1)
    }

    @Test("HTTP/1.0 without keep-alive is not kept alive; with it, it is")
    func http10() {
        let (a, _) = parse(Array("GET / HTTP/1.0\r\n\r\n".utf8), pieces: [100])
        #expect(a.heads.first?.keepAlive == false)
        let (b, _) = parse(Array("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".utf8), pieces: [100])
        #expect(b.heads.first?.keepAlive == true)
    }

    @Test(
        "hostile or malformed heads stop the parser with the right status",
        arguments: [
            ("GARBAGE\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
            ("\u{0}\u{1}\u{2}\u{3}", 400),
            ("GET /\u{0} HTTP/1.1\r\n\r\n", 400),
        ])
    func malformed(input: String, status: Int) {
        let (_, failure) = parse(Array(input.utf8), pieces: [input.utf8.count])
        #expect(failure?.status == status, "\(input.debugDescription)")
    }

    @Test("a header section over the byte limit is refused with 431, even when it arrives byte by byte")
    func headerBytes() {
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        for pieces in [[big.utf8.count], Array(repeating: 1, count: big.utf8.count)] {
            let (_, failure) = parse(Array(big.utf8), pieces: pieces)
            #expect(failure?.status == 431)
        }
    }

    @Test("more header fields than allowed is refused with 431")
    func headerCount() {
        var text = "GET / HTTP/1.1\r\n"
        for i in 0..<101 { text += "X-H\(i): v\r\n" }
        text += "\r\n"
        let (_, failure) = parse(Array(text.utf8), pieces: [text.utf8.count])
        #expect(failure?.status == 431)
        var ok = "GET / HTTP/1.1\r\n"
        for i in 0..<100 { ok += "X-H\(i): v\r\n" }
        ok += "\r\n"
        let (r, noFailure) = parse(Array(ok.utf8), pieces: [ok.utf8.count])
        #expect(noFailure == nil)
        #expect(r.heads.first?.headers.fields.count == 100)
    }

    @Test("a response delimited by the connection closing completes at end of input")
    func responseUntilEOF() {
        let input = Array("HTTP/1.1 200 OK\r\n\r\nall of it".utf8)
        let parser = MessageParser(kind: .response, headerBytesMax: 16384, headerCountMax: 100)
        let recorder = Recorder()
        parser.delegate = recorder
        _ = input.withUnsafeBytes { parser.feed($0) }
        #expect(recorder.completed == 0)
        #expect(parser.finish() == nil)
        #expect(recorder.completed == 1)
        #expect(recorder.bodies.first == Array("all of it".utf8))
    }

    @Test("a response cut short of its Content-Length is reported at end of input")
    func truncatedResponse() {
        let input = Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8)
        let parser = MessageParser(kind: .response, headerBytesMax: 16384, headerCountMax: 100)
        let recorder = Recorder()
        parser.delegate = recorder
        _ = input.withUnsafeBytes { parser.feed($0) }
        #expect(parser.finish() != nil)
        #expect(recorder.completed == 0)
    }
}

@Suite("HTTP headers")
struct HeadersTests {
    @Test("names compare without case, values keep order, tokens are found in lists")
    func basics() {
        var h: HTTPHeaders = ["Content-Type": "text/plain", "X-A": "1"]
        h.add("x-a", "2")
        #expect(h["content-type"] == "text/plain")
        #expect(h.values("X-A") == ["1", "2"])
        h.set("X-A", "3")
        #expect(h.values("x-a") == ["3"])
        let c: HTTPHeaders = ["Connection": "keep-alive, Upgrade"]
        #expect(c.hasToken("upgrade", in: "connection"))
        #expect(!c.hasToken("close", in: "connection"))
    }

    @Test(
        "endpoints parse from URLs",
        arguments: [
            ("http://127.0.0.1:8080", "127.0.0.1", 8080), ("http://node1:9000/data", "node1", 9000),
            ("http://[::1]:8081", "::1", 8081), ("http://host", "host", 80),
        ])
    func endpoints(url: String, host: String, port: Int) {
        let e = HTTPEndpoint(url: url)
        #expect(e?.host == host)
        #expect(e?.port == port)
    }

    @Test(
        "bad endpoint URLs are rejected",
        arguments: ["https://:1", "http://:80", "http://a:0", "https://a:99999", "http://a:x", "ftp://a", "httpx://a"])
    func badEndpoints(url: String) {
        #expect(HTTPEndpoint(url: url) == nil)
    }
}

@Suite("URL encoding")
struct URLEncodingTests {
    @Test(
        "encoding keeps only unreserved bytes and decodes back",
        arguments: ["a b", "ü/ö", "x+y=z&w", "~-_.", "%", "日本"])
    func roundTrip(text: String) {
        let encoded = URLEncoding.encode(text)
        #expect(encoded.utf8.allSatisfy { URLEncoding.isUnreserved($0) || $0 == 37 })
        #expect(URLEncoding.decode(Substring(encoded), plusAsSpace: false) == text)
        #expect(URLEncoding.encode("a/b c", keepSlash: true) == "a/b%20c")
    }

    @Test("malformed escapes and invalid UTF-8 are refused")
    func refuses() {
        #expect(URLEncoding.decode("%", plusAsSpace: false) == nil)
        #expect(URLEncoding.decode("%zz", plusAsSpace: false) == nil)
        #expect(URLEncoding.decode("%ff%fe", plusAsSpace: false) == nil)
        #expect(URLEncoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(URLEncoding.decode("a+b", plusAsSpace: false) == "a+b")
    }

    @Test("query strings parse in order, with empty values, and re-encode")
    func query() throws {
        let q = try #require(QueryParameters(parsing: "list-type=2&prefix=a%2Fb&delimiter=%2F&fetch-owner"))
        #expect(q["prefix"] == "a/b")
        #expect(q["fetch-owner"] == "")
        #expect(q.contains("list-type"))
        #expect(q.encoded == "list-type=2&prefix=a%2Fb&delimiter=%2F&fetch-owner=")
        #expect(QueryParameters(parsing: "a=%G1") == nil)
    }
}
