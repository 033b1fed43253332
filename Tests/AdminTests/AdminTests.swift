import Core
import Testing

@testable import Admin

@Suite("dashboard session")
struct SessionTests {
    let session = Session(accessKey: "minioadmin", secretKey: "s3cret-key-1234")
    let now = WallTime(millisecondsSinceEpoch: 1_800_000_000_000)

    @Test("a token is valid until it expires, and only for the deployment's secret")
    func lifetime() throws {
        let token = session.issue(now: now, id: "0123456789abcdef")
        #expect(
            session.verify(token, now: now)
                == Session.Token(id: "0123456789abcdef", expires: now.millisecondsSinceEpoch + Session.lifetime))
        #expect(
            session.verify(
                token, now: WallTime(millisecondsSinceEpoch: now.millisecondsSinceEpoch + Session.lifetime - 1)) != nil)
        #expect(
            session.verify(
                token, now: WallTime(millisecondsSinceEpoch: now.millisecondsSinceEpoch + Session.lifetime)) == nil)
        #expect(Session(accessKey: "minioadmin", secretKey: "another-secret-99").verify(token, now: now) == nil)
        // One hex digit of the MAC changed.
        let flipped = String(token.dropLast()) + (token.hasSuffix("0") ? "1" : "0")
        #expect(session.verify(flipped, now: now) == nil)
        #expect(
            session.verify(session.issue(now: now), now: now)?.id
                != session.verify(session.issue(now: now), now: now)?.id)
    }

    @Test(
        "forged or mangled tokens are refused, and so are tokens of the earlier form",
        arguments: ["", "v1", "v1..", "v2.1.aa", "v2...", "v2.0123456789ABCDEF.99.00", "v2.0123456789abcde.99.00"])
    func forged(token: String) {
        #expect(session.verify(token, now: now) == nil)
    }

    @Test("an expiry moved later, or another session's id, is refused, even with the old MAC")
    func extended() {
        let parts = session.issue(now: now, id: "0123456789abcdef").split(separator: ".")
        #expect(session.verify("v2.\(parts[1]).\(Int64(parts[2])! + 1000).\(parts[3])", now: now) == nil)
        #expect(session.verify("v2.fedcba9876543210.\(parts[2]).\(parts[3])", now: now) == nil)
    }

    @Test("a revoked session is refused until it would have expired; then it is forgotten, and the list is bounded")
    func revocation() throws {
        let token = try #require(session.verify(session.issue(now: now), now: now))
        var list = SessionRevocations()
        #expect(!list.isRevoked(token))
        let added = list.add([token.id: token.expires], now: now)
        let again = list.add([token.id: token.expires], now: now)
        #expect(added && !again, "new, then nothing new")
        #expect(list.isRevoked(token))
        #expect(SessionRevocations.entries(from: list.json) == [token.id: token.expires])
        #expect(SessionRevocations.entries(from: .object([("short", .int(1))])) == nil)
        list.forgetExpired(now: WallTime(millisecondsSinceEpoch: token.expires))
        #expect(!list.isRevoked(token))
        let expired = list.add(["0123456789abcdef": now.millisecondsSinceEpoch], now: now)
        #expect(!expired, "already expired: nothing to keep")
        var full = SessionRevocations()
        let many = Dictionary(
            uniqueKeysWithValues: (0..<(SessionRevocations.entriesMax + 5)).map {
                (String(format16: $0), now.millisecondsSinceEpoch + 1000 + Int64($0))
            })
        full.add(many, now: now)
        #expect(full.expiries.count == SessionRevocations.entriesMax)
        #expect(full.expiries[String(format16: 0)] == nil, "the soonest to expire went first")
    }

    @Test("credentials and the cookie header")
    func credentials() {
        #expect(session.accepts(accessKey: "minioadmin", secretKey: "s3cret-key-1234"))
        #expect(!session.accepts(accessKey: "minioadmin", secretKey: "s3cret-key-123"))
        #expect(!session.accepts(accessKey: "minioadmin\ns3cret", secretKey: "-key-1234"))
        #expect(session.token(inCookieHeader: "a=1; dc_session=v1.2.ab ; b=2") == "v1.2.ab")
        #expect(session.token(inCookieHeader: "dc_sessionx=1") == nil)
        #expect(session.token(inCookieHeader: nil) == nil)
        // The console's sessions are its own: a console token opens no dashboard, and the reverse.
        let console = Session(accessKey: "minioadmin", secretKey: "s3cret-key-1234", purpose: .console)
        #expect(console.cookieName != session.cookieName)
        #expect(session.verify(console.issue(now: now), now: now) == nil)
        #expect(console.verify(session.issue(now: now), now: now) == nil)
        #expect(console.token(inCookieHeader: "dc_session=a; dc_console=b") == "b")
    }
}

@Suite("metrics")
struct MetricsTests {
    @Test("counters, histograms and gauges in the exposition format, labels escaped")
    func render() {
        let m = Metrics()
        m.recordRequest(operation: "PutObject", status: 200, seconds: 0.003, received: 100, sent: 0)
        m.recordRequest(operation: "PutObject", status: 200, seconds: 0.2, received: 50, sent: 0)
        m.recordRequest(operation: "GetObject", status: 404, seconds: 0.001, received: 0, sent: 300)
        let text = m.render(gauges: [.init("g_one", "A gauge.", [([("peer", "a\"b\\c\nd")], 1.5)])])
        #expect(text.contains("devcluster_s3_requests_total{operation=\"PutObject\",status=\"200\"} 2\n"))
        #expect(text.contains("devcluster_s3_requests_total{operation=\"GetObject\",status=\"404\"} 1\n"))
        #expect(
            text.contains("devcluster_s3_request_duration_seconds_bucket{operation=\"PutObject\",le=\"0.005\"} 1\n"))
        #expect(text.contains("devcluster_s3_request_duration_seconds_bucket{operation=\"PutObject\",le=\"+Inf\"} 2\n"))
        #expect(text.contains("devcluster_s3_received_bytes_total 150\n"))
        #expect(text.contains("devcluster_s3_sent_bytes_total 300\n"))
        #expect(text.contains("# TYPE g_one gauge\ng_one{peer=\"a\\\"b\\\\c\\nd\"} 1.5\n"))
    }
}

@Suite("event stream frames")
struct EventStreamTests {
    @Test("an event is one SSE message: its number as the id, its JSON on one data line")
    func frame() {
        var event = Event(source: "node1", kind: .nodeOffline, fields: [("peer", .string("node2\nx"))])
        event.sequence = 7
        let frame = EventStream.frame(event)
        #expect(frame.hasPrefix("id: 7\ndata: {"))
        #expect(frame.hasSuffix("}\n\n"))
        #expect(frame.split(separator: "\n").count == 2)
    }
}

@Suite("login throttle")
struct LoginThrottleTests {
    let t0 = Instant(nanoseconds: 1_000_000_000)

    @Test("a source may fail a few times; then it waits, longer after each failure, up to the cap")
    func lockout() {
        var t = LoginThrottle()
        for _ in 1..<LoginThrottle.failuresFree {
            #expect(t.failed("10.0.0.1", now: t0) == nil)
            #expect(t.wait(for: "10.0.0.1", now: t0) == nil)
        }
        #expect(t.failed("10.0.0.1", now: t0) == LoginThrottle.lockoutFirst)
        #expect(t.wait(for: "10.0.0.1", now: t0 + .seconds(10)) == .seconds(20))
        #expect(t.wait(for: "10.0.0.2", now: t0) == nil, "another source is not held back")
        #expect(t.wait(for: "10.0.0.1", now: t0 + .seconds(30)) == nil, "the lockout ends")
        #expect(t.failed("10.0.0.1", now: t0 + .seconds(31)) == LoginThrottle.lockoutFirst * 2)
        var last: Duration?
        for i in 0..<20 { last = t.failed("10.0.0.1", now: t0 + .seconds(100 + Int64(i))) }
        #expect(last == LoginThrottle.lockoutMax)
        // Days later, one typo is one failure of a fresh start, not another doubled lockout.
        #expect(t.failed("10.0.0.1", now: t0 + .seconds(3 * 86_400)) == nil)
    }

    @Test("failures spread out over more than the window never lock a source out; a success clears it")
    func slowAndSuccess() {
        var t = LoginThrottle()
        for i in 0..<20 {
            #expect(t.failed("a", now: t0 + LoginThrottle.window * i + .seconds(1)) == nil, "\(i)")
        }
        for _ in 1..<LoginThrottle.failuresFree { t.failed("b", now: t0) }
        t.succeeded("b")
        #expect(t.failed("b", now: t0) == nil)
    }

    @Test("memory is bounded: past sourcesMax the quietest source is forgotten")
    func bounded() {
        var t = LoginThrottle()
        for i in 0..<(LoginThrottle.sourcesMax + 100) {
            t.failed("s\(i)", now: t0 + .milliseconds(Int64(i)))
        }
        #expect(t.sourceCount == LoginThrottle.sourcesMax)
    }
}

extension String {
    /// `n` as 16 lower-case hex digits.
    fileprivate init(format16 n: Int) {
        let hex = String(n, radix: 16)
        self = String(repeating: "0", count: 16 - hex.count) + hex
    }
}
