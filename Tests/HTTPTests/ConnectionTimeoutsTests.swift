import Core
import Testing

@testable import HTTP

@Suite("connection timeouts")
struct ConnectionTimeoutsTests {
    let t0 = Instant(nanoseconds: 1_000_000_000)
    var limits: HTTPServerLimits {
        var l = HTTPServerLimits()
        l.headerTimeout = .seconds(10)
        l.idleTimeout = .seconds(60)
        l.bodyIdleTimeout = .seconds(30)
        l.writeStallTimeout = .seconds(20)
        l.lingerTimeout = .seconds(2)
        return l
    }

    @Test("an idle keep-alive connection closes silently at the idle timeout, not a moment before")
    func idle() {
        let t = ConnectionTimeouts(now: t0)
        #expect(t.check(now: t0 + .seconds(59), limits: limits) == nil)
        #expect(t.check(now: t0 + .seconds(60), limits: limits) == .close)
    }

    @Test("a head that trickles in (slowloris) times out counted from its first byte, whatever the bytes")
    func slowloris() {
        var t = ConnectionTimeouts(now: t0)
        t.enter(.readingHead, now: t0 + .seconds(5))
        for s in 6..<15 { t.bytesRead(now: t0 + .seconds(Int64(s))) }
        #expect(t.check(now: t0 + .seconds(14), limits: limits) == nil)
        guard case .requestTimeout = t.check(now: t0 + .seconds(15), limits: limits) else {
            Issue.record("expected a request timeout")
            return
        }
    }

    @Test("a body times out only while we are reading it, not while we paused it")
    func bodyIdle() {
        var t = ConnectionTimeouts(now: t0)
        t.enter(.readingBody(paused: false), now: t0)
        t.bytesRead(now: t0 + .seconds(10))
        #expect(t.check(now: t0 + .seconds(39), limits: limits) == nil)
        #expect(t.check(now: t0 + .seconds(40), limits: limits) != nil)
        t.enter(.readingBody(paused: true), now: t0 + .seconds(40))
        #expect(t.check(now: t0 + .seconds(400), limits: limits) == nil)
        t.enter(.readingBody(paused: false), now: t0 + .seconds(400))
        #expect(t.check(now: t0 + .seconds(429), limits: limits) == nil)
        #expect(t.check(now: t0 + .seconds(430), limits: limits) != nil)
    }

    @Test("a client that stops reading our response is dropped after the write stall timeout")
    func writeStall() {
        var t = ConnectionTimeouts(now: t0)
        t.enter(.responding, now: t0)
        t.writeStarted(now: t0)
        t.writeProgressed(now: t0 + .seconds(10), stillPending: true)
        #expect(t.check(now: t0 + .seconds(29), limits: limits) == nil)
        #expect(t.check(now: t0 + .seconds(30), limits: limits) == .dropStalledWriter)
        t.writeProgressed(now: t0 + .seconds(31), stillPending: false)
        #expect(t.check(now: t0 + .seconds(1000), limits: limits) == nil)
    }

    @Test("a handler working on a response is never timed out by the connection")
    func responding() {
        var t = ConnectionTimeouts(now: t0)
        t.enter(.responding, now: t0)
        #expect(t.check(now: t0 + .seconds(10_000), limits: limits) == nil)
    }

    @Test("lingering ends after the linger timeout")
    func linger() {
        var t = ConnectionTimeouts(now: t0)
        t.enter(.lingering, now: t0)
        #expect(t.check(now: t0 + .milliseconds(1999), limits: limits) == nil)
        #expect(t.check(now: t0 + .seconds(2), limits: limits) == .close)
    }

    @Test("a clock that appears to go backwards never fires a timeout")
    func backwards() {
        var t = ConnectionTimeouts(now: t0 + .seconds(100))
        t.enter(.readingHead, now: t0 + .seconds(100))
        #expect(t.check(now: t0, limits: limits) == nil)
    }

    @Test("limits that cannot work are refused at start")
    func validation() {
        var l = HTTPServerLimits()
        l.headerTimeout = .milliseconds(50)
        #expect(throws: HTTPLimitsError.self) { try l.validate() }
        var m = HTTPServerLimits()
        m.headerBytesMax = 10
        #expect(throws: HTTPLimitsError.self) { try m.validate() }
        #expect(throws: Never.self) { try HTTPServerLimits().validate() }
    }
}
