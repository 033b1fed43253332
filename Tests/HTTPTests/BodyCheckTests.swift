import Core
import Loop
import Testing

@testable import HTTP

/// Records what a body check is shown, and answers with `verdict`.
final class RecordingCheck: HTTPBodyCheck {
    let trailerBytes: Int
    let verdict: String?
    var seen: [UInt8] = []
    var trailer: [UInt8]?

    init(trailerBytes: Int, verdict: String? = nil) {
        self.trailerBytes = trailerBytes
        self.verdict = verdict
    }

    func update(_ bytes: UnsafeRawBufferPointer) { seen += bytes }

    func finish(trailer: [UInt8]) -> String? {
        self.trailer = trailer
        return verdict
    }
}

@Suite("request body checks")
struct BodyCheckTests {
    /// Sends `body` in seeded pieces of 1 to 40 bytes, a millisecond apart, so the server reads it in
    /// many small chunks (smaller than the trailer, and straddling it).
    func send(_ body: [UInt8], to raw: RawClient, loop: EventLoop, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var pieces: [[UInt8]] = []
        var i = 0
        while i < body.count {
            let n = min(Int.random(in: 1...40, using: &g), body.count - i)
            pieces.append(Array(body[i..<(i + n)]))
            i += n
        }
        raw.send("PUT /x HTTP/1.1\r\nContent-Length: \(body.count)\r\n\r\n")
        func next(_ k: Int) {
            guard k < pieces.count else { return }
            raw.send(pieces[k])
            after(loop, .milliseconds(1)) { next(k + 1) }
        }
        next(0)
    }

    @Test("a check's trailer is held back: the handler and the check see the rest, in order", arguments: [1, 2, 3])
    func trailerHeldBack(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        let body = (0..<Int.random(in: 200...900, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
        let check = RecordingCheck(trailerBytes: 16)
        var delivered: [UInt8] = []
        var ended: HTTPBodyError??
        var payloadLength: Int64?
        try withServer(handler: { req, res in
            req.bodyCheck = check
            payloadLength = req.payloadLength
            req.streamBody(
                chunk: { delivered += $0 },
                end: { error in
                    ended = .some(error)
                    res.send(status: 204)
                })
        }) { loop, _, _, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                send(body, to: raw, loop: loop, seed: seed)
                raw.onData = { if raw.text.contains("204") { finish() } }
            }
        }
        #expect(ended == .some(nil))
        #expect(payloadLength == Int64(body.count - 16))
        #expect(delivered == Array(body.dropLast(16)))
        #expect(check.seen == delivered)
        #expect(check.trailer == Array(body.suffix(16)))
    }

    @Test("a body its check refuses ends unauthentic, never complete (403 by its status)")
    func refused() throws {
        let check = RecordingCheck(trailerBytes: 0, verdict: "not what was signed")
        var result: Result<[UInt8], HTTPBodyError>?
        try withServer(handler: { req, res in
            req.bodyCheck = check
            req.readBody(limit: 1 << 20) { r in
                result = r
                if case .failure(let e) = r { res.send(status: e.status) } else { res.send(status: 200) }
            }
        }) { loop, _, _, endpoint, finish in
            _ = RawClient(loop: loop, endpoint: endpoint) { raw in
                send(Array("a body of some length".utf8), to: raw, loop: loop, seed: 9)
                raw.onData = { if raw.text.contains("HTTP/1.1 403") { finish() } }
            }
        }
        guard case .failure(.unauthentic(let why)) = result else {
            Issue.record("the refused body was delivered: \(String(describing: result))")
            return
        }
        #expect(why == "not what was signed" && check.seen == Array("a body of some length".utf8))
    }
}
