import Core
import HTTP
import Testing

@testable import Cluster

@Suite("internode key")
struct ClusterKeyTests {
    let key = ClusterKey(accessKey: "minioadmin", secretKey: "minioadmin")
    let now = WallTime(millisecondsSinceEpoch: 1_800_000_000_000)

    func head(_ headers: HTTPHeaders, target: String = "/_dc/v1/status") -> HTTPRequestHead {
        HTTPRequestHead(method: "GET", target: target, headers: headers)
    }

    @Test("a signed request verifies and names its caller")
    func roundTrip() {
        let h = key.sign(method: "GET", target: "/_dc/v1/status", caller: "node3", time: now)
        #expect(key.verify(head(h), now: now + 0) == .success("node3"))
    }

    @Test("a changed target, caller, time or secret fails")
    func tamper() {
        let h = key.sign(method: "GET", target: "/_dc/v1/status", caller: "node3", time: now)
        #expect(key.verify(head(h, target: "/_dc/v1/events"), now: now) == .failure(.badSignature))
        var other = h
        other.set(ClusterKey.callerHeader, "node2")
        #expect(key.verify(head(other), now: now) == .failure(.badSignature))
        var later = h
        later.set(ClusterKey.timeHeader, String(now.millisecondsSinceEpoch + 1))
        #expect(key.verify(head(later), now: now) == .failure(.badSignature))
        let stranger = ClusterKey(accessKey: "minioadmin", secretKey: "different")
        #expect(stranger.verify(head(h), now: now) == .failure(.badSignature))
    }

    @Test(
        "hostile times are refused, never crash",
        arguments: ["-9223372036854775808", "9223372036854775807", "-1", "0", "99999999999999999999", "1e3", ""])
    func hostileTimes(time: String) {
        var h = key.sign(method: "GET", target: "/_dc/v1/status", caller: "x", time: now)
        h.set(ClusterKey.timeHeader, time)
        if case .success = key.verify(head(h), now: now) { Issue.record("\(time) was accepted") }
    }

    @Test("an unsigned request is refused, and so is one from far away in time")
    func unsignedAndSkew() {
        #expect(key.verify(head([:]), now: now) == .failure(.unsigned))
        let old = key.sign(method: "GET", target: "/_dc/v1/status", caller: "node1", time: now)
        let sixteenMinutes = WallTime(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 16 * 60_000)
        #expect(key.verify(head(old), now: sixteenMinutes) == .failure(.clockSkew(.seconds(16 * 60))))
    }
}

extension WallTime {
    static func + (lhs: WallTime, rhs: Int64) -> WallTime {
        WallTime(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch + rhs)
    }
}
