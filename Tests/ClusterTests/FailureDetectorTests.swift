import Core
import Testing

@testable import Cluster

extension FailureDetector {
    /// Ticks every 100 ms (as a node's timer does) from the last tick up to `now`; returns every transition.
    mutating func advance(from start: Instant, to now: Instant) -> [Transition] {
        var out: [Transition] = []
        var t = start
        while t < now {
            t = min(now, t + .milliseconds(100))
            out += tick(now: t)
        }
        return out
    }
}

@Suite("failure detector")
struct FailureDetectorTests {
    let t0 = Instant(nanoseconds: 5_000_000_000)
    let timing = HeartbeatTiming(interval: .seconds(1), deadAfter: .seconds(3))

    func detector() -> FailureDetector {
        FailureDetector(peers: ["node2", "node3"], timing: timing, now: t0)
    }

    @Test("peers start offline and come online at their first heartbeat")
    func firstContact() {
        var d = detector()
        #expect(d.state(of: "node2") == .offline)
        #expect(d.advance(from: t0, to: t0 + .seconds(100)) == [])  // never heard: no events, just offline
        let t = d.heard(from: "node2", incarnation: 7, at: t0 + .seconds(100))
        #expect(t == [.online("node2", previous: .offline, firstContact: true)])
        #expect(d.state(of: "node2") == .online)
    }

    @Test("a peer is suspect after two missed heartbeats, not a moment before")
    func suspectAfterTwoMissed() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        #expect(d.advance(from: t0, to: t0 + .milliseconds(1999)) == [])
        #expect(d.tick(now: t0 + .seconds(2)) == [.suspect("node2", reason: "no heartbeat for 2s")])
        #expect(d.state(of: "node2") == .suspect)
    }

    @Test("a peer is offline after dead-after of silence")
    func offlineAfterDeadAfter() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        _ = d.advance(from: t0, to: t0 + .seconds(2))
        #expect(d.advance(from: t0 + .seconds(2), to: t0 + .milliseconds(2999)) == [])
        #expect(d.tick(now: t0 + .seconds(3)) == [.offline("node2", reason: "no heartbeat for 3s")])
        #expect(d.advance(from: t0 + .seconds(3), to: t0 + .seconds(30)) == [])
    }

    @Test("a refused call makes an online peer suspect at once; its next heartbeat makes it online")
    func refusedIsSuspect() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        #expect(
            d.callFailed(to: "node2", reason: "refused", at: t0 + .milliseconds(10)) == [
                .suspect("node2", reason: "refused")
            ])
        #expect(d.callFailed(to: "node2", reason: "refused", at: t0 + .milliseconds(20)) == [])
        #expect(
            d.heard(from: "node2", incarnation: 1, at: t0 + .milliseconds(30)) == [
                .online("node2", previous: .suspect, firstContact: false)
            ])
    }

    @Test("the silence clock keeps running while suspect: offline still comes at dead-after from the last heartbeat")
    func suspectThenOffline() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        _ = d.callFailed(to: "node2", reason: "refused", at: t0 + .milliseconds(100))
        #expect(d.advance(from: t0, to: t0 + .milliseconds(2900)) == [])
        #expect(d.tick(now: t0 + .seconds(3)).first == .offline("node2", reason: "no heartbeat for 3s"))
    }

    @Test("a jump of the clock past dead-after goes straight from online to offline")
    func jump() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        _ = d.tick(now: t0 + .milliseconds(500))
        // A jump of 1.5 s is below the stall threshold (2 s): it counts against the peer.
        _ = d.tick(now: t0 + .seconds(2))
        _ = d.tick(now: t0 + .milliseconds(3500))
        #expect(d.state(of: "node2") == .offline)
    }

    @Test("a new incarnation is a restart, even while the peer stayed online")
    func restart() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        #expect(
            d.heard(from: "node2", incarnation: 2, at: t0 + .milliseconds(500)) == [
                .restarted("node2", previousIncarnation: 1, incarnation: 2)
            ])
        _ = d.advance(from: t0, to: t0 + .seconds(4))
        #expect(
            d.heard(from: "node2", incarnation: 3, at: t0 + .seconds(5)) == [
                .online("node2", previous: .offline, firstContact: false),
                .restarted("node2", previousIncarnation: 2, incarnation: 3),
            ])
    }

    @Test("a delayed heartbeat from an older incarnation is ignored and does not keep the peer alive")
    func staleIncarnation() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 5, at: t0)
        #expect(d.heard(from: "node2", incarnation: 4, at: t0 + .milliseconds(2500)) == [])
        #expect(d.advance(from: t0, to: t0 + .seconds(3)).contains(.offline("node2", reason: "no heartbeat for 3s")))
    }

    @Test("a graceful leave is offline at once; a leave from an older incarnation is ignored")
    func leave() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 5, at: t0)
        #expect(d.left("node2", incarnation: 4, at: t0 + .milliseconds(1)) == [])
        #expect(
            d.left("node2", incarnation: 5, at: t0 + .milliseconds(2)) == [
                .offline("node2", reason: "stopped gracefully")
            ])
        #expect(d.left("node2", incarnation: 5, at: t0 + .milliseconds(3)) == [])
    }

    @Test("when we ourselves were stalled, peers get the time back instead of being declared dead")
    func stall() {
        var d = detector()
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        _ = d.heard(from: "node3", incarnation: 1, at: t0)
        _ = d.advance(from: t0, to: t0 + .milliseconds(500))
        // SIGSTOP for 10 s: the next tick is 10 s later.
        let t = d.tick(now: t0 + .milliseconds(10_500))
        #expect(t == [.stalled(.seconds(10))])
        #expect(d.state(of: "node2") == .online)
        // Their age before the pause (0.5 s) is kept: suspect 1.5 s later, offline 2.5 s later, if still silent.
        #expect(d.advance(from: t0 + .milliseconds(10_500), to: t0 + .milliseconds(11_900)) == [])
        #expect(d.tick(now: t0 + .milliseconds(12_000)).count == 2)
        #expect(d.advance(from: t0 + .milliseconds(12_000), to: t0 + .milliseconds(13_000)).count == 2)
        #expect(d.state(of: "node3") == .offline)
    }

    @Test("facts recorded with a time later than the tick never produce a negative age or an event")
    func outOfOrder() {
        var d = detector()
        _ = d.advance(from: t0, to: t0 + .seconds(9))
        _ = d.heard(from: "node2", incarnation: 1, at: t0 + .seconds(10))
        #expect(d.tick(now: t0 + .milliseconds(9050)) == [])
        #expect(d.silence(of: "node2", now: t0 + .seconds(9)) == .zero)
        #expect(
            d.advance(from: t0 + .milliseconds(9050), to: t0 + .seconds(12)) == [
                .suspect("node2", reason: "no heartbeat for 2s")
            ])
    }

    @Test("a flapping peer alternates suspect and online but never goes offline while heartbeats keep coming")
    func flapping() {
        var d = detector()
        var transitions: [FailureDetector.Transition] = []
        for i in 0..<200 {
            let now = t0 + .milliseconds(Int64(i * 250))
            transitions += d.tick(now: now)
            if i % 2 == 0 {
                transitions += d.heard(from: "node2", incarnation: 1, at: now)
            } else {
                transitions += d.callFailed(to: "node2", reason: "timeout", at: now)
            }
        }
        let node2 = transitions.filter { $0.peer == "node2" }
        #expect(!node2.contains { if case .offline = $0 { true } else { false } })
        #expect(node2.count > 100)
        // Strict alternation: every suspect is followed by an online.
        for (a, b) in zip(node2, node2.dropFirst()) {
            switch (a, b) {
            case (.suspect, .online), (.online, .suspect): continue
            default: Issue.record("unexpected sequence \(a) then \(b)")
            }
        }
    }

    @Test("unknown peers are ignored")
    func unknown() {
        var d = detector()
        #expect(d.heard(from: "node9", incarnation: 1, at: t0) == [])
        #expect(d.callFailed(to: "node9", reason: "x", at: t0) == [])
    }

    @Test(
        "timings are checked: dead-after must exceed two intervals",
        arguments: [
            (1000, 3000, true), (1000, 2000, false), (200, 1000, true), (5000, 15000, true), (5, 1000, false),
            (1000, 1000, false),
        ])
    func validation(intervalMs: Int64, deadMs: Int64, valid: Bool) {
        let t = HeartbeatTiming(interval: .milliseconds(intervalMs), deadAfter: .milliseconds(deadMs))
        if valid {
            #expect(throws: Never.self) { try t.validate() }
        } else {
            #expect(throws: HeartbeatTiming.Invalid.self) { try t.validate() }
        }
    }
}

@Suite("failure detector: leaving and stalls")
struct FailureDetectorLeaveTests {
    let t0 = Instant(nanoseconds: 5_000_000_000)

    @Test("heartbeats from a peer that left, at the incarnation it left with, do not bring it back; a restart does")
    func lateHeartbeatsAfterLeave() {
        var d = FailureDetector(peers: ["node2"], timing: .init(), now: t0)
        _ = d.heard(from: "node2", incarnation: 7, at: t0)
        #expect(
            d.left("node2", incarnation: 7, at: t0 + .milliseconds(10)) == [
                .offline("node2", reason: "stopped gracefully")
            ])
        #expect(d.heard(from: "node2", incarnation: 7, at: t0 + .milliseconds(20)) == [])
        #expect(d.state(of: "node2") == .offline)
        #expect(
            d.heard(from: "node2", incarnation: 8, at: t0 + .seconds(2)) == [
                .online("node2", previous: .offline, firstContact: false),
                .restarted("node2", previousIncarnation: 7, incarnation: 8),
            ])
    }

    @Test("calls that fail while we ourselves were stalled, before the tick notices, do not make peers suspect")
    func failuresDuringOwnStall() {
        var d = FailureDetector(peers: ["node2"], timing: .init(), now: t0)
        _ = d.heard(from: "node2", incarnation: 1, at: t0)
        _ = d.tick(now: t0 + .milliseconds(100))
        // Resumed after 10 s: the HTTP client's timeouts fire before the node's tick.
        #expect(d.callFailed(to: "node2", reason: "timeout", at: t0 + .seconds(10)) == [])
        #expect(d.tick(now: t0 + .seconds(10)) == [.stalled(.milliseconds(9900))])
        #expect(d.state(of: "node2") == .online)
        #expect(
            d.callFailed(to: "node2", reason: "refused", at: t0 + .milliseconds(10_050)) == [
                .suspect("node2", reason: "refused")
            ])
    }
}
