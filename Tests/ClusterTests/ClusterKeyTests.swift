import Core
import HTTP
import Testing

@testable import Cluster

@Suite("internode key")
struct ClusterKeyTests {
    let key = ClusterKey(accessKey: "minioadmin", secretKey: "minioadmin")
    let now = WallTime(millisecondsSinceEpoch: 1_800_000_000_000)
    let nonce = RequestNonce(session: "0123456789abcdef", counter: 7)

    func head(_ headers: HTTPHeaders, target: String = "/_dc/v1/status", method: String = "GET") -> HTTPRequestHead {
        HTTPRequestHead(method: method, target: target, headers: headers)
    }

    func sign(_ body: [UInt8] = [], caller: String = "node3") -> HTTPHeaders {
        key.sign(method: "GET", target: "/_dc/v1/status", caller: caller, body: body, time: now, nonce: nonce)
    }

    func rejection(_ result: Result<ClusterKey.Verified, ClusterKey.Rejection>) -> ClusterKey.Rejection? {
        if case .failure(let r) = result { return r }
        return nil
    }

    /// Runs `body` through a verified request's body check: nil when it passes.
    func check(_ verified: ClusterKey.Verified, _ body: [UInt8]) -> String? {
        let trailer = verified.bodyCheck.trailerBytes
        body.dropLast(trailer).withUnsafeBytes { verified.bodyCheck.update($0) }
        return verified.bodyCheck.finish(trailer: Array(body.suffix(trailer)))
    }

    @Test("a signed request verifies, names its caller and nonce, and its body passes its check")
    func roundTrip() throws {
        let body = Array("a heartbeat".utf8)
        let verified = try key.verify(head(sign(body)), now: now + 0).get()
        #expect(verified.caller == "node3" && verified.nonce == nonce)
        #expect(check(verified, body) == nil)
    }

    @Test("a body swapped under valid headers fails its check; so does a missing one")
    func swappedBody() throws {
        let body = Array("{\"node\":\"node3\"}".utf8)
        #expect(check(try key.verify(head(sign(body)), now: now).get(), Array("{\"node\":\"node2\"}".utf8)) != nil)
        #expect(check(try key.verify(head(sign(body)), now: now).get(), []) != nil)
        #expect(check(try key.verify(head(sign([])), now: now).get(), [0]) != nil)
    }

    @Test("a streamed body ends with its tag: it passes whole, and fails changed, cut or with another tag")
    func streamedBody() throws {
        let signer = RequestSigner(
            key: key, method: "PUT", target: "/_dc/v1/storage/stage", caller: "node2", time: now, nonce: nonce)
        let payload = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        payload.withUnsafeBytes { signer.update($0) }
        let headers = signer.streamHeaders()
        #expect(headers[ClusterKey.bodyHeader] == ClusterKey.trailerTag)
        let sent = payload + signer.tag()
        let h = head(headers, target: "/_dc/v1/storage/stage", method: "PUT")
        let verified = try key.verify(h, now: now).get()
        #expect(verified.bodyCheck.trailerBytes == Poly1305.tagBytes)
        #expect(check(verified, sent) == nil)
        var changed = sent
        changed[5] ^= 1
        #expect(check(try key.verify(h, now: now).get(), changed) != nil)
        #expect(check(try key.verify(h, now: now).get(), Array(sent.dropFirst(1))) != nil)
        #expect(check(try key.verify(h, now: now).get(), Array(sent.prefix(10))) != nil)
    }

    @Test("a changed target, caller, time, nonce, body tag or secret fails")
    func tamper() {
        let h = sign()
        #expect(rejection(key.verify(head(h, target: "/_dc/v1/events"), now: now)) == .badSignature)
        for (header, value) in [
            (ClusterKey.callerHeader, "node2"), (ClusterKey.timeHeader, String(now.millisecondsSinceEpoch + 1)),
            (ClusterKey.nonceHeader, "0123456789abcdef.8"), (ClusterKey.bodyHeader, ClusterKey.trailerTag),
        ] {
            var changed = h
            changed.set(header, value)
            #expect(rejection(key.verify(head(changed), now: now)) == .badSignature, "\(header)")
        }
        let stranger = ClusterKey(accessKey: "minioadmin", secretKey: "different")
        #expect(rejection(stranger.verify(head(h), now: now)) == .badSignature)
    }

    @Test(
        "hostile times are refused, never crash",
        arguments: ["-9223372036854775808", "9223372036854775807", "-1", "0", "99999999999999999999", "1e3", ""])
    func hostileTimes(time: String) {
        var h = sign()
        h.set(ClusterKey.timeHeader, time)
        if case .success = key.verify(head(h), now: now) { Issue.record("\(time) was accepted") }
    }

    @Test(
        "hostile nonces are refused, never crash",
        arguments: [
            "", ".", "0123456789abcdef.", "0123456789abcdef.0", "0123456789abcdef.-1", "0123456789ABCDEF.1",
            "0123456789abcde.1", "0123456789abcdef.18446744073709551616", "0123456789abcdef.1.2", "x.1",
        ])
    func hostileNonces(text: String) {
        #expect(RequestNonce(text: text) == nil)
    }

    @Test("an unsigned request is refused, and so is one from further in time than the window")
    func unsignedAndSkew() {
        #expect(rejection(key.verify(head([:]), now: now)) == .unsigned)
        let sixMinutes = WallTime(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 6 * 60_000)
        #expect(
            rejection(key.verify(head(sign()), now: sixMinutes))
                == .clockSkew(.seconds(6 * 60), max: ClusterKey.clockSkewMaxDefault))
        let patient = ClusterKey(accessKey: "minioadmin", secretKey: "minioadmin", clockSkewMax: .seconds(600))
        let h = patient.sign(method: "GET", target: "/_dc/v1/status", caller: "node1", time: now)
        #expect(rejection(patient.verify(head(h), now: sixMinutes)) == nil)
    }

    @Test("a request signed before the node started is refused, even within the window; one signed since passes")
    func signedBeforeStart() {
        let started = now + 2_000
        let later = now + 3_000
        let before = key.sign(method: "GET", target: "/_dc/v1/status", caller: "node1", time: now)
        #expect(rejection(key.verify(head(before), now: later, notBefore: started)) == .signedBeforeStart(.seconds(2)))
        #expect(rejection(key.verify(head(before), now: later)) == nil, "a node that did not restart cannot tell")
        let since = key.sign(method: "GET", target: "/_dc/v1/status", caller: "node1", time: started)
        #expect(rejection(key.verify(head(since), now: later, notBefore: started)) == nil)
    }
}

@Suite("replay windows")
struct ReplayWindowsTests {
    let t0 = Instant(nanoseconds: 1_000_000_000)

    func nonce(_ counter: UInt64, session: String = "0123456789abcdef") -> RequestNonce {
        RequestNonce(session: session, counter: counter)
    }

    @Test("a nonce is admitted once; a replay is refused, also out of order within the window")
    func once() {
        var w = ReplayWindows(clockSkewMax: .seconds(300))
        for c: UInt64 in [5, 7, 6, 1, 100] { #expect(w.admit(caller: "node2", nonce(c), now: t0) == nil, "\(c)") }
        for c: UInt64 in [5, 7, 6, 1, 100] {
            #expect(w.admit(caller: "node2", nonce(c), now: t0) == .replayed(nonce: nonce(c).text), "\(c)")
        }
        #expect(w.admit(caller: "node2", nonce(2), now: t0) == nil, "never seen")
        #expect(w.admit(caller: "node3", nonce(5), now: t0) == nil, "another caller's own session")
        #expect(w.admit(caller: "node2", nonce(5, session: "fedcba9876543210"), now: t0) == nil, "a restarted sender")
    }

    @Test("each destination gets a session of its own, numbered from 1 in the order signed")
    func perDestination() {
        let a1 = RequestNonce.next(to: "test-destination-a:1")
        let b1 = RequestNonce.next(to: "test-destination-b:1")
        let a2 = RequestNonce.next(to: "test-destination-a:1")
        #expect(a1.session == a2.session && a1.session != b1.session)
        #expect(a1.counter == 1 && a2.counter == 2 && b1.counter == 1)
        #expect(RequestNonce(text: a2.text) == a2)
    }

    @Test("a counter further below the highest than the window is refused (it cannot be told apart)")
    func tooOld() {
        var w = ReplayWindows(clockSkewMax: .seconds(300))
        let top = UInt64(ReplayWindows.windowSize) + 10
        #expect(w.admit(caller: "n", nonce(top), now: t0) == nil)
        #expect(w.admit(caller: "n", nonce(10), now: t0) == .replayed(nonce: nonce(10).text))
        #expect(w.admit(caller: "n", nonce(11), now: t0) == nil, "the oldest the window still holds")
        // A window moved far ahead forgets nothing it must still refuse.
        #expect(w.admit(caller: "n", nonce(top + 3 * UInt64(ReplayWindows.windowSize)), now: t0) == nil)
        #expect(w.admit(caller: "n", nonce(top), now: t0) == .replayed(nonce: nonce(top).text))
    }

    @Test("every counter of a long run is admitted once, in a seeded shuffled order within the window")
    func seededRun() {
        var w = ReplayWindows(clockSkewMax: .seconds(300))
        var g = SeededGenerator(seed: 11)
        var counters = Array(UInt64(1)...UInt64(50_000))
        // Shuffle within blocks smaller than the window: arrivals a little out of order.
        for start in stride(from: 0, to: counters.count, by: 1000) {
            counters[start..<min(start + 1000, counters.count)].shuffle(using: &g)
        }
        for c in counters { #expect(w.admit(caller: "n", nonce(c), now: t0) == nil) }
        var replays = 0
        for _ in 0..<2000 {
            let c = UInt64.random(in: 1...50_000, using: &g)
            if w.admit(caller: "n", nonce(c), now: t0) != nil { replays += 1 }
        }
        #expect(replays == 2000)
    }

    @Test("idle sessions are forgotten after twice the window; a full table makes room for a new one")
    func bounded() {
        var w = ReplayWindows(clockSkewMax: .seconds(300))
        _ = w.admit(caller: "n", nonce(1), now: t0)
        w.forgetIdle(now: t0 + .seconds(600))
        #expect(w.sessionCount == 1)
        w.forgetIdle(now: t0 + .seconds(661))
        #expect(w.sessionCount == 0)
        for i in 0..<ReplayWindows.sessionsMax {
            #expect(w.admit(caller: "cli", nonce(1, session: String(format16: i)), now: t0) == nil)
        }
        #expect(w.admit(caller: "node2", nonce(1, session: "ffffffffffffffff"), now: t0 + .seconds(1)) == nil)
        #expect(w.sessionCount == ReplayWindows.sessionsMax, "the least recently used session made room")
        #expect(
            w.admit(caller: "node2", nonce(1, session: "ffffffffffffffff"), now: t0 + .seconds(1))
                == .replayed(nonce: "ffffffffffffffff.1"))
    }
}

extension String {
    /// `n` as 16 lower-case hex digits.
    init(format16 n: Int) {
        let hex = String(n, radix: 16)
        self = String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension WallTime {
    static func + (lhs: WallTime, rhs: Int64) -> WallTime {
        WallTime(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch + rhs)
    }
}
