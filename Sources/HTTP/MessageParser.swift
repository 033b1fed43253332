import CHTTPParser

/// What a parser's owner hears. Loop-bound.
protocol MessageParserDelegate: AnyObject {
    /// The head is complete. Returning `.skipBody` tells the parser the message has no body (a response
    /// to HEAD); `.reject` stops parsing with that failure.
    func parserDidReceiveHead(_ head: MessageParser.Head) -> MessageParser.HeadDisposition
    /// Body bytes, borrowed for the duration of the call. The owner may call `pause()` inside.
    func parserDidReceiveBody(_ bytes: UnsafeRawBufferPointer)
    /// The message is complete. The parser pauses itself here, so a pipelined next message is not parsed
    /// until the owner calls `resume()`.
    func parserDidCompleteMessage()
}

/// A request or response parser over nodejs http-parser, with our limits on header bytes and header
/// count. Pure: it only turns bytes into delegate calls, so it is tested by feeding bytes, whole, byte by
/// byte, and split at random points.
final class MessageParser {
    enum Kind { case request, response }

    struct Head {
        var method: String
        var target: String
        var status: Int
        var version: HTTPVersion
        var headers: HTTPHeaders
        var contentLength: Int64?
        var isChunked: Bool
        var keepAlive: Bool
        var isUpgrade: Bool
    }

    enum HeadDisposition {
        case proceed
        case skipBody
        case reject(Failure)
    }

    /// Why parsing stopped; `status` is what a server answers with.
    struct Failure: Error, Equatable, CustomStringConvertible {
        var status: Int
        var reason: String
        var description: String { "\(status) \(HTTPStatus.reason(status)): \(reason)" }

        static func malformed(_ reason: String) -> Failure { Failure(status: 400, reason: reason) }
    }

    enum FeedResult: Equatable {
        /// Every byte was consumed.
        case consumed
        /// Parsing paused after `count` bytes; the rest must be fed again after `resume()`.
        case paused(consumed: Int)
        case failed(Failure)
    }

    let kind: Kind
    private let headerBytesMax: Int
    private let headerCountMax: Int
    weak var delegate: MessageParserDelegate?

    private let parser = UnsafeMutablePointer<http_parser>.allocate(capacity: 1)
    private let settings = UnsafeMutablePointer<http_parser_settings>.allocate(capacity: 1)

    // The head being accumulated (http-parser may deliver each piece in several calls).
    private var target: [UInt8] = []
    private var statusText: [UInt8] = []
    private var fieldName: [UInt8] = []
    private var fieldValue: [UInt8] = []
    private var lastWasValue = false
    private var headers = HTTPHeaders()
    private var headerBytes = 0
    private var failure: Failure?
    private(set) var isPaused = false
    /// True between the first byte of a message and its completion.
    private(set) var inMessage = false
    private(set) var isHeadComplete = false

    init(kind: Kind, headerBytesMax: Int, headerCountMax: Int) {
        self.kind = kind
        self.headerBytesMax = headerBytesMax
        self.headerCountMax = headerCountMax
        http_parser_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        settings.initialize(to: http_parser_settings())
        settings.pointee.on_message_begin = { p in MessageParser.from(p).messageBegan() }
        settings.pointee.on_url = { p, at, n in MessageParser.from(p).append(&MessageParser.from(p).target, at, n) }
        settings.pointee.on_status = { p, at, n in
            MessageParser.from(p).append(&MessageParser.from(p).statusText, at, n)
        }
        settings.pointee.on_header_field = { p, at, n in MessageParser.from(p).headerField(at, n) }
        settings.pointee.on_header_value = { p, at, n in MessageParser.from(p).headerValue(at, n) }
        settings.pointee.on_headers_complete = { p in MessageParser.from(p).headersComplete() }
        settings.pointee.on_body = { p, at, n in MessageParser.from(p).body(at, n) }
        settings.pointee.on_message_complete = { p in MessageParser.from(p).messageComplete() }
    }

    deinit {
        parser.deallocate()
        settings.deallocate()
    }

    private static func from(_ p: UnsafeMutablePointer<http_parser>?) -> MessageParser {
        Unmanaged<MessageParser>.fromOpaque(p!.pointee.data).takeUnretainedValue()
    }

    /// Feeds bytes. With an empty buffer, signals end of input (a response delimited by EOF completes).
    func feed(_ bytes: UnsafeRawBufferPointer) -> FeedResult {
        if let failure { return .failed(failure) }
        precondition(!isPaused, "MessageParser.feed while paused: resume() first")
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self)
        let consumed = http_parser_execute(parser, settings, base, bytes.count)
        if let failure { return .failed(failure) }
        let errno = parser.pointee.http_errno
        if errno == HPE_PAUSED.rawValue {
            return .paused(consumed: consumed)
        }
        if errno != HPE_OK.rawValue {
            let name = String(cString: http_errno_name(http_errno(rawValue: errno)))
            let text = String(cString: http_errno_description(http_errno(rawValue: errno)))
            let f = Failure.malformed("\(text) (\(name))")
            failure = f
            return .failed(f)
        }
        return .consumed
    }

    /// Marks the end of input. Returns a failure when a message was cut short.
    func finish() -> Failure? {
        guard failure == nil else { return failure }
        resume()
        if inMessage {
            _ = feed(UnsafeRawBufferPointer(start: nil, count: 0))
            if inMessage { return failure ?? .malformed("the connection closed in the middle of a message") }
        }
        return failure
    }

    /// Pauses after the current callback (for back-pressure or at message end).
    func pause() {
        guard !isPaused else { return }
        isPaused = true
        http_parser_pause(parser, 1)
    }

    func resume() {
        guard isPaused else { return }
        isPaused = false
        http_parser_pause(parser, 0)
    }

    var isUpgrade: Bool { parser.pointee.upgrade != 0 }

    // MARK: Callbacks

    private func messageBegan() -> Int32 {
        inMessage = true
        isHeadComplete = false
        target.removeAll(keepingCapacity: true)
        statusText.removeAll(keepingCapacity: true)
        fieldName.removeAll(keepingCapacity: true)
        fieldValue.removeAll(keepingCapacity: true)
        headers = HTTPHeaders()
        headerBytes = 0
        lastWasValue = false
        return 0
    }

    private func countHeaderBytes(_ n: Int) -> Bool {
        headerBytes += n
        if headerBytes > headerBytesMax {
            failure = Failure(
                status: kind == .request ? 431 : 502,
                reason: "the header section is larger than \(headerBytesMax) bytes")
            return false
        }
        return true
    }

    private func append(_ into: inout [UInt8], _ at: UnsafePointer<CChar>?, _ n: Int) -> Int32 {
        guard countHeaderBytes(n) else { return -1 }
        into.append(contentsOf: UnsafeRawBufferPointer(start: at, count: n))
        return 0
    }

    private func headerField(_ at: UnsafePointer<CChar>?, _ n: Int) -> Int32 {
        if lastWasValue {
            guard commitField() else { return -1 }
        }
        lastWasValue = false
        return append(&fieldName, at, n)
    }

    private func headerValue(_ at: UnsafePointer<CChar>?, _ n: Int) -> Int32 {
        lastWasValue = true
        return append(&fieldValue, at, n)
    }

    private func commitField() -> Bool {
        guard headers.fields.count < headerCountMax else {
            failure = Failure(status: kind == .request ? 431 : 502, reason: "more than \(headerCountMax) header fields")
            return false
        }
        headers.add(String(decoding: fieldName, as: UTF8.self), String(decoding: fieldValue, as: UTF8.self))
        fieldName.removeAll(keepingCapacity: true)
        fieldValue.removeAll(keepingCapacity: true)
        return true
    }

    private func headersComplete() -> Int32 {
        if lastWasValue || !fieldName.isEmpty {
            guard commitField() else { return -1 }
        }
        // Trailers of a chunked body start afresh, with the same limits.
        lastWasValue = false
        headerBytes = 0
        isHeadComplete = true
        let p = parser.pointee
        let flags = p.flags
        let hasLength = flags & UInt32(F_CONTENTLENGTH.rawValue) != 0
        let head = Head(
            method: kind == .request ? String(cString: http_method_str(http_method(rawValue: p.method))) : "",
            target: String(decoding: target, as: UTF8.self),
            status: Int(p.status_code),
            version: HTTPVersion(major: Int(p.http_major), minor: Int(p.http_minor)),
            headers: headers,
            contentLength: hasLength ? Int64(clamping: p.content_length) : nil,
            isChunked: flags & UInt32(F_CHUNKED.rawValue) != 0,
            keepAlive: http_should_keep_alive(parser) != 0,
            isUpgrade: flags & UInt32(F_UPGRADE.rawValue) != 0)
        guard let delegate else { return 0 }
        switch delegate.parserDidReceiveHead(head) {
        case .proceed: return 0
        case .skipBody: return 1
        case .reject(let f):
            failure = f
            return -1
        }
    }

    private func body(_ at: UnsafePointer<CChar>?, _ n: Int) -> Int32 {
        delegate?.parserDidReceiveBody(UnsafeRawBufferPointer(start: at, count: n))
        return 0
    }

    private func messageComplete() -> Int32 {
        inMessage = false
        pause()
        delegate?.parserDidCompleteMessage()
        return 0
    }
}
