import Admin
import Core
import Testing

@testable import Launcher

@Suite("console controls")
struct ConsoleActionTests {
    func parse(_ text: String) throws(ConsoleActionError) -> [String] {
        try ConsoleAction.parse(try! JSONValue.parse(text), nodeCount: 4).arguments
    }

    @Test("each control becomes the devcluster command that does it")
    func commands() throws {
        #expect(try parse(#"{"action": "kill", "nodes": "node2"}"#) == ["kill", "node2"])
        #expect(try parse(#"{"action": "start", "nodes": "node1,node3"}"#) == ["start", "node1,node3"])
        #expect(
            try parse(#"{"action": "slow", "nodes": "node2-4", "delay": "200ms"}"#) == ["slow", "node2-4", "200ms"])
        #expect(try parse(#"{"action": "disk-full-undo", "nodes": "all"}"#) == ["disk-full", "all", "--undo"])
        #expect(
            try parse(#"{"action": "partition", "groupA": "node1,node2", "groupB": "node3"}"#)
                == ["partition", "node1,node2", "node3"])
        #expect(try parse(#"{"action": "heal"}"#) == ["heal", "--wait"])
        #expect(try parse(#"{"action": "corrupt", "nodes": "node1", "object": "b/k"}"#) == ["corrupt", "node1", "b/k"])
    }

    @Test(
        "an unknown action, a missing or bad selector, an option smuggled in, or a bad delay is refused",
        arguments: [
            #"{"action": "rm"}"#, #"{"action": "kill"}"#, #"{"action": "kill", "nodes": "node5"}"#,
            #"{"action": "kill", "nodes": "--home=/"}"#, #"{"action": "slow", "nodes": "node2"}"#,
            #"{"action": "slow", "nodes": "node2", "delay": "later"}"#,
            #"{"action": "corrupt", "nodes": "node1", "object": "-x/y"}"#,
            #"{"action": "partition", "groupA": "node1"}"#, #"[1, 2]"#,
        ])
    func refused(text: String) {
        #expect(throws: ConsoleActionError.self) { try parse(text) }
    }

    @Test("a session's CSRF token is its own: another session's, or a changed one, is refused")
    func csrf() throws {
        let session = Session(accessKey: "minioadmin", secretKey: "minioadmin")
        let now = WallTime(millisecondsSinceEpoch: 1_800_000_000_000)
        let a = try #require(session.verify(session.issue(now: now), now: now))
        let b = try #require(session.verify(session.issue(now: now), now: now))
        #expect(session.acceptsCSRF(session.csrfToken(for: a), for: a))
        #expect(!session.acceptsCSRF(session.csrfToken(for: b), for: a))
        #expect(!session.acceptsCSRF(String(session.csrfToken(for: a).dropLast()) + "x", for: a))
        #expect(!session.acceptsCSRF("", for: a))
    }
}
