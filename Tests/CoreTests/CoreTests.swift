import Testing

@testable import Core

@Suite("durations")
struct DurationTextTests {
    @Test(
        "people's durations parse",
        arguments: [
            ("200ms", 200_000_000), ("1s", 1_000_000_000), ("1.5s", 1_500_000_000), ("2m", 120_000_000_000),
            ("500us", 500_000), (" 3s ", 3_000_000_000), ("3m05s", 185_000_000_000), ("1h30m", 5_400_000_000_000),
        ])
    func parses(text: String, nanoseconds: Int64) throws {
        #expect(try DurationText.parse(text).nanoseconds == nanoseconds)
    }

    @Test(
        "nonsense is refused with an example",
        arguments: ["", "1", "fast", "1.2.3s", "-1s", "ms", "1e9s", "s1", "1s2", "3m05"])
    func refuses(text: String) {
        #expect(throws: DurationText.ParseError.self) { try DurationText.parse(text) }
    }

    @Test("durations print short and round-trip")
    func formats() throws {
        #expect(DurationText.format(.milliseconds(200)) == "200ms")
        #expect(DurationText.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationText.format(.seconds(3)) == "3s")
        #expect(DurationText.format(.seconds(185)) == "3m05s")
        #expect(DurationText.format(.microseconds(850)) == "850us")
        for d in [
            Duration.milliseconds(200), .seconds(1), .seconds(3), .milliseconds(1500), .seconds(300), .seconds(185),
        ] {
            #expect(try DurationText.parse(DurationText.format(d)) == d)
        }
    }
}

@Suite("instants and wall time")
struct TimeTests {
    @Test("instants never produce a negative age")
    func since() {
        let a = Instant(nanoseconds: 5_000)
        let b = Instant(nanoseconds: 9_000)
        #expect(b.since(a) == .nanoseconds(4000))
        #expect(a.since(b) == .zero)
        #expect(a - .nanoseconds(10_000) == Instant(nanoseconds: 0))
    }

    @Test("RFC 3339 and HTTP dates are written and read back")
    func formats() {
        let t = WallTime(millisecondsSinceEpoch: 1_795_615_332_308)
        #expect(t.iso8601 == "2026-11-25T14:02:12.308Z")
        #expect(WallTime(iso8601: t.iso8601) == t)
        #expect(WallTime(iso8601: "2026-11-25T14:02:12Z")?.millisecondsSinceEpoch == 1_795_615_332_000)
        #expect(WallTime(iso8601: "yesterday") == nil)
        #expect(t.httpDate == "Wed, 25 Nov 2026 14:02:12 GMT")
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test("documents parse and print back, keeping key order")
    func roundTrip() throws {
        let text = #"{"b":1,"a":[true,null,-2.5,"x\"y\\z\n\u00e9\ud83d\ude00"],"c":{}}"#
        let value = try JSONValue.parse(text)
        #expect(value["b"] == .int(1))
        #expect(try JSONValue.parse(value.text) == value)
        #expect(value.text.hasPrefix(#"{"b":1,"a":"#))
        #expect(value["a"]?.text.contains("😀") == true)
        #expect(try JSONValue.parse(value.prettyText()) == value)
    }

    @Test(
        "hostile documents are refused, not crashed on",
        arguments: [
            "", "{", "[1,]", "{\"a\" 1}", "\"unterminated", String(repeating: "[", count: 10_000), "{\"a\":1,\"a\":2}",
            "nul", "01x", "\"\\ud800\"", "1 2",
        ])
    func refuses(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    @Test("events survive the trip through a log line")
    func events() throws {
        let e = Event(
            sequence: 7, time: WallTime(millisecondsSinceEpoch: 1000), source: "node3", kind: EventKind("node_offline"),
            fields: [("peer", .string("node2")), ("lastHeardMs", .int(3100))])
        let back = try #require(Event(json: try JSONValue.parse(e.json.text)))
        #expect(back == e)
        #expect(
            Event(json: try JSONValue.parse(#"{"time":"2026-11-25T14:02:12.308Z","level":"info","msg":"x"}"#)) == nil)
    }
}

@Suite("crypto")
struct CryptoTests {
    @Test("digests and MACs match the published test vectors")
    func vectors() {
        #expect(
            Crypto.sha256(Array("abc".utf8)).hexString
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Crypto.md5(Array("".utf8)).hexString == "d41d8cd98f00b204e9800998ecf8427e")
        // RFC 4231 test case 2.
        #expect(
            Crypto.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)).hexString
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Crypto.constantTimeEqual([1, 2], [1, 2]))
        #expect(!Crypto.constantTimeEqual([1, 2], [1, 3]))
        #expect(!Crypto.constantTimeEqual([1], [1, 2]))
        #expect(Crypto.randomBytes(16) != Crypto.randomBytes(16))
    }
}
