/// What the request parser makes of a byte stream, as a pure value: each message's head and body, and
/// how parsing ended. It feeds the bytes in the pieces given, resuming after every pause as a server
/// connection does, so one stream read whole and read in pieces can be compared (the parser's fuzz
/// target requires them to be equal: a parser that depends on how bytes arrive is broken).
public struct RequestStreamReading: Equatable, CustomStringConvertible, Sendable {
    /// One line per message: method, target, version, headers, length, and the body's size and sum.
    public var messages: [String] = []
    public var failure: String?

    public var description: String { (messages + [failure.map { "failed: \($0)" } ?? "ok"]).joined(separator: "\n") }

    /// Reads `bytes` fed in `pieces` (sizes; what is left after them is fed last), with the server's
    /// default header limits.
    public static func read(_ bytes: [UInt8], pieces: [Int]) -> RequestStreamReading {
        let limits = HTTPServerLimits()
        let parser = MessageParser(
            kind: .request, headerBytesMax: limits.headerBytesMax, headerCountMax: limits.headerCountMax)
        let recorder = Recorder()
        parser.delegate = recorder
        var offset = 0
        for size in pieces.map({ max(0, $0) }) + [bytes.count] where offset < bytes.count {
            var pending = Array(bytes[offset..<min(bytes.count, offset + size)])
            offset += pending.count
            while !pending.isEmpty {
                if parser.isPaused { parser.resume() }
                switch pending.withUnsafeBytes({ parser.feed($0) }) {
                case .consumed: pending = []
                case .paused(let consumed): pending = Array(pending[consumed...])
                case .failed(let failure):
                    recorder.reading.failure = failure.description
                    return recorder.finished()
                }
            }
        }
        return recorder.finished()
    }

    private final class Recorder: MessageParserDelegate {
        var reading = RequestStreamReading()
        var head: String?
        var body: (count: Int, sum: UInt64) = (0, 0)

        func parserDidReceiveHead(_ head: MessageParser.Head) -> MessageParser.HeadDisposition {
            let headers = head.headers.fields.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
            self.head =
                "\(head.method) \(head.target) \(head.version) [\(headers)] length=\(head.contentLength.map(String.init) ?? "-")"
                + " chunked=\(head.isChunked) keepAlive=\(head.keepAlive)"
            body = (0, 0)
            return .proceed
        }

        func parserDidReceiveBody(_ bytes: UnsafeRawBufferPointer) {
            body.count += bytes.count
            for b in bytes { body.sum = body.sum &* 31 &+ UInt64(b) }
        }

        func parserDidCompleteMessage() {
            reading.messages.append((head ?? "?") + " body=\(body.count):\(body.sum)")
            head = nil
        }

        func finished() -> RequestStreamReading {
            if let head { reading.messages.append(head + " (incomplete) body=\(body.count):\(body.sum)") }
            return reading
        }
    }
}
