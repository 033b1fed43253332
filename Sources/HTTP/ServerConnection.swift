import Core
import Loop

/// One accepted connection: parses requests, hands them to the server's handler one at a time
/// (pipelined requests wait, parsed no further than their head), writes responses, and enforces the
/// limits and timeouts. Loop-bound.
///
/// The parser is never re-entered: it is fed from `pump()`, or straight from a read when nothing waits;
/// handlers run outside `http_parser_execute`, and body consumers inside it may only pause it.
final class ServerConnection: MessageParserDelegate {
    static let crlf = ByteBuffer(Array("\r\n".utf8))
    static let lastChunk = ByteBuffer(Array("0\r\n\r\n".utf8))
    static let continueLine = ByteBuffer(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))

    unowned let server: HTTPServer
    let stream: any ByteStream
    let parser: MessageParser
    let remoteAddress: SocketAddress?
    private(set) var timeouts: ConnectionTimeouts

    /// Bytes read but not yet parsed (the parser was paused when they arrived).
    private var stash: [UInt8] = []
    private var feeding: [UInt8] = []
    private var pendingHead: MessageParser.Head?
    private(set) var request: HTTPServerRequest?
    private(set) var response: HTTPServerResponse?
    var closeAfterResponse = false
    private var continueSent = false
    private var responseFlushed = false
    private var inFlightCounted = false
    private var writesInFlight = 0
    private var lastWriteQueueBytes = 0
    private var isPumping = false
    private var pumpAgain = false
    private var lingering = false
    private(set) var isClosed = false

    init(server: HTTPServer, stream: any ByteStream, now: Instant) {
        self.server = server
        self.stream = stream
        self.remoteAddress = stream.peerAddress
        self.timeouts = ConnectionTimeouts(now: now)
        self.parser = MessageParser(
            kind: .request, headerBytesMax: server.limits.headerBytesMax, headerCountMax: server.limits.headerCountMax)
        parser.delegate = self
    }

    func start() {
        stream.startReading { [unowned self] event in self.onRead(event) }
    }

    /// True when no request is in progress and no byte of the next one has arrived.
    var isIdle: Bool { request == nil && pendingHead == nil && timeouts.phase == .idle && stash.isEmpty }

    // MARK: Reading

    private func onRead(_ event: StreamReadEvent) {
        switch event {
        case .data(let bytes):
            timeouts.bytesRead(now: server.loop.iterationTime)
            if lingering { return }
            if timeouts.phase == .idle { timeouts.enter(.readingHead, now: server.loop.iterationTime) }
            if isPumping || parser.isPaused || !stash.isEmpty {
                // Reading stops only when bytes arrive while the parser waits (a pipelined request, or a
                // body the handler paused): one read at most is held, and a plain request/response
                // exchange never pays for stopping and restarting reads.
                stash.append(contentsOf: bytes)
                stream.stopReading()
            } else {
                isPumping = true
                feed(bytes)
                isPumping = false
            }
            pump()
        case .endOfFile:
            endOfInput()
        case .error:
            closeNow()
        }
    }

    private func feed(_ bytes: UnsafeRawBufferPointer) {
        switch parser.feed(bytes) {
        case .consumed:
            break
        case .paused(let consumed):
            if consumed < bytes.count { stash.insert(contentsOf: bytes[consumed...], at: 0) }
        case .failed(let failure):
            protocolError(failure)
        }
    }

    /// The one place the parser runs. Re-entrant calls (from handlers running inside it) set a flag and
    /// the outer call loops again.
    private func pump() {
        if isPumping {
            pumpAgain = true
            return
        }
        isPumping = true
        defer { isPumping = false }
        repeat {
            pumpAgain = false
            guard !isClosed, !lingering else { return }
            if let head = pendingHead {
                pendingHead = nil
                dispatch(head)
                pumpAgain = true
                continue
            }
            if parser.isPaused {
                guard parserMayRun else { break }
                parser.resume()
            }
            if !stash.isEmpty {
                // Swapped with a spare, so the two buffers keep their capacity across requests.
                swap(&stash, &feeding)
                feeding.withUnsafeBytes { feed($0) }
                feeding.removeAll(keepingCapacity: true)
                pumpAgain = true
            }
        } while pumpAgain
        guard !isClosed, !lingering else { return }
        if !parser.isPaused && stash.isEmpty { stream.resumeReading() }
    }

    private var parserMayRun: Bool {
        guard let request else { return !closeAfterResponse }
        switch request.bodyState {
        case .awaitingConsumer: return !request.head.hasBody  // no body to hold back: let it complete
        case .streaming(let paused): return !paused
        case .draining: return true
        case .complete, .failed: return false
        }
    }

    private func endOfInput() {
        if lingering || request == nil {
            closeNow()
            return
        }
        closeAfterResponse = true
        if let request, !request.isBodyComplete {
            request.fail(.truncated)
        }
        if responseFlushed || response?.isEnded == true && writesInFlight == 0 { closeNow() }
    }

    // MARK: Parser delegate

    func parserDidReceiveHead(_ head: MessageParser.Head) -> MessageParser.HeadDisposition {
        if head.version.major != 1 {
            return .reject(.init(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are supported"))
        }
        if head.method == "CONNECT" {
            return .reject(.init(status: 405, reason: "CONNECT is not supported"))
        }
        if let length = head.contentLength, length > server.limits.bodyBytesMax {
            return .reject(
                .init(
                    status: 413,
                    reason: "the request body (\(length) bytes) is larger than \(server.limits.bodyBytesMax) bytes"))
        }
        // An Expect other than 100-continue is ignored, as S3 does (RFC 9110 allows a 417).
        pendingHead = head
        parser.pause()
        return .proceed
    }

    func parserDidReceiveBody(_ bytes: UnsafeRawBufferPointer) {
        guard let request else { return }
        timeouts.bytesRead(now: server.loop.iterationTime)
        if let limitFailure = bodyLimitExceeded(adding: bytes.count) {
            protocolError(limitFailure)
            return
        }
        request.deliver(bytes)
    }

    private func bodyLimitExceeded(adding count: Int) -> MessageParser.Failure? {
        guard let request, request.bodyBytesReceived + Int64(count) > server.limits.bodyBytesMax else { return nil }
        return .init(status: 413, reason: "the request body is larger than \(server.limits.bodyBytesMax) bytes")
    }

    func parserDidCompleteMessage() {
        guard let request else { return }
        if parser.isUpgrade { closeAfterResponse = true }
        timeouts.enter(.responding, now: server.loop.iterationTime)
        // The consumer may answer at once, and the exchange may finish, inside complete().
        request.complete()
        if self.request === request && responseFlushed { finishExchange() }
    }

    // MARK: Exchanges

    private func dispatch(_ head: MessageParser.Head) {
        let requestHead = HTTPRequestHead(
            method: head.method, target: head.target, version: head.version, headers: head.headers,
            contentLength: head.contentLength, isChunked: head.isChunked, keepAlive: head.keepAlive)
        if !head.keepAlive || head.isUpgrade || server.isShuttingDown { closeAfterResponse = true }
        let now = server.loop.iterationTime
        let request = HTTPServerRequest(
            head: requestHead, remoteAddress: remoteAddress, receivedAt: now, connection: self)
        let response = HTTPServerResponse(connection: self, isHead: head.method == "HEAD", requestVersion: head.version)
        self.request = request
        self.response = response
        responseFlushed = false
        continueSent = false
        timeouts.enter(requestHead.hasBody ? .readingBody(paused: true) : .responding, now: now)
        inFlightCounted = true
        server.requestStarted()
        server.handler(request, response)
    }

    func bodyConsumerAttached(_ request: HTTPServerRequest) {
        guard request === self.request else { return }
        if request.head.expectsContinue, response?.isHeadWritten == false, !continueSent {
            continueSent = true
            write([ServerConnection.continueLine]) { _ in }
        }
        if request.head.hasBody { timeouts.enter(.readingBody(paused: false), now: server.loop.iterationTime) }
        pump()
    }

    func bodyConsumerPaused() {
        parser.pause()
        timeouts.enter(.readingBody(paused: true), now: server.loop.iterationTime)
        if !isPumping { stream.stopReading() }
    }

    func bodyConsumerResumed() {
        timeouts.enter(.readingBody(paused: false), now: server.loop.iterationTime)
        pump()
    }

    func responseEnded(_ response: HTTPServerResponse, finalBuffers: [ByteBuffer]) {
        guard response === self.response else { return }
        if !finalBuffers.isEmpty { write(finalBuffers) { _ in } }
        if writesInFlight == 0 { responseDidFlush() }
    }

    private func responseDidFlush() {
        guard !isClosed, !responseFlushed, let request else { return }
        responseFlushed = true
        if inFlightCounted {
            inFlightCounted = false
            server.requestFinished()
        }
        switch request.bodyState {
        case .complete:
            finishExchange()
        case .failed:
            startLinger()
        case .awaitingConsumer, .streaming, .draining:
            if !request.head.hasBody {
                pump()  // the parser completes the message as soon as it runs again
                return
            }
            // The handler answered without reading the whole body. Read and discard a small remainder to
            // keep the connection; otherwise close (after lingering, so the client still sees the answer).
            if !closeAfterResponse && !bodyWillBeAbandoned {
                request.bodyState = .draining
                timeouts.enter(.readingBody(paused: false), now: server.loop.iterationTime)
                pump()
            } else {
                closeAfterResponse = true
                startLinger()
            }
        }
    }

    private func finishExchange() {
        request = nil
        response = nil
        responseFlushed = false
        if closeAfterResponse {
            startLinger()
            return
        }
        timeouts.enter(stash.isEmpty ? .idle : .readingHead, now: server.loop.iterationTime)
        pump()
    }

    // MARK: Writing

    func write(_ buffers: [ByteBuffer], completion: @escaping (UVError?) -> Void) {
        guard !isClosed else {
            completion(.cancelled("write after close"))
            return
        }
        writesInFlight += 1
        timeouts.writeStarted(now: server.loop.iterationTime)
        stream.write(buffers) { [weak self] error in
            guard let self else {
                // The connection is gone (closed, then released): the caller still hears about it.
                completion(error ?? .cancelled("write"))
                return
            }
            self.writesInFlight -= 1
            self.timeouts.writeProgressed(now: self.server.loop.iterationTime, stillPending: self.writesInFlight > 0)
            completion(error)
            if error != nil {
                self.closeNow()
            } else if self.writesInFlight == 0, self.response?.isEnded == true {
                self.responseDidFlush()
            }
        }
    }

    func encodeHead(status: Int, headers: inout HTTPHeaders) -> ByteBuffer {
        if !headers.contains("Date") { headers.add("Date", server.dateHeader()) }
        if !headers.contains("Server") { headers.add("Server", "devcluster") }
        if closeAfterResponse || server.isShuttingDown || bodyWillBeAbandoned {
            closeAfterResponse = true
            headers.set("Connection", "close")
        } else if request?.head.version == .http1_0 {
            headers.set("Connection", "keep-alive")
        }
        // A client that asked `Expect: 100-continue` and whose (empty or whole) body was never asked
        // for still gets its 100 first: botocore, answered with a final status straight away, reads the
        // next response on the connection one line out of step.
        var interim = ""
        if let request, request.head.expectsContinue, !continueSent, request.isBodyComplete {
            continueSent = true
            interim = "HTTP/1.1 100 Continue\r\n\r\n"
        }
        // Sized first, then written once into the buffer libuv will send from.
        let statusLine = interim + "HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\n"
        var size = statusLine.utf8.count + 2
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        let buffer = ByteBuffer(capacity: size)
        var out = buffer.pointer.assumingMemoryBound(to: UInt8.self)
        func put(_ text: String) {
            for byte in text.utf8 {
                out.pointee = byte
                out += 1
            }
        }
        put(statusLine)
        for (name, value) in headers {
            put(name)
            put(": ")
            // A header value must never end the head early (response splitting): CR and LF are dropped.
            for byte in value.utf8 where byte != 13 && byte != 10 {
                out.pointee = byte
                out += 1
            }
            put("\r\n")
        }
        put("\r\n")
        buffer.setCount(out - buffer.pointer.assumingMemoryBound(to: UInt8.self))
        return buffer
    }

    /// An unread request body too large (or too unknown) to read and discard after the answer: the
    /// connection will close, and the response says so from its head on.
    private var bodyWillBeAbandoned: Bool {
        guard let request, request.head.hasBody, !request.isBodyComplete else { return false }
        if case .failed = request.bodyState { return true }
        if request.head.expectsContinue && !continueSent { return true }
        guard let length = request.head.contentLength else { return true }
        return length - request.bodyBytesReceived > server.limits.drainBytesMax
    }

    // MARK: Errors and closing

    private func protocolError(_ failure: MessageParser.Failure) {
        server.noteProtocolError()
        closeAfterResponse = true
        if let request, let response {
            request.fail(.malformed(failure.reason))
            if !response.isHeadWritten && !response.isEnded {
                sendError(failure.status, failure.reason, through: response)
            } else if !response.isEnded {
                closeNow()
            }
            return
        }
        answerAndClose(failure)
    }

    /// Answers with an error before (or without) any request, then closes after lingering.
    func answerAndClose(_ failure: MessageParser.Failure) {
        pendingHead = nil
        closeAfterResponse = true
        var headers = HTTPHeaders()
        let rendered = server.renderError(failure.status, failure.reason)
        headers.add("Content-Type", rendered.contentType)
        headers.add("Content-Length", String(rendered.body.count))
        if rendered.status == 503 { headers.add("Retry-After", "1") }
        let head = encodeHead(status: rendered.status, headers: &headers)
        write([head, ByteBuffer(rendered.body)]) { _ in }
        startLinger()
    }

    private func sendError(_ status: Int, _ message: String, through response: HTTPServerResponse) {
        let rendered = server.renderError(status, message)
        response.send(status: rendered.status, headers: ["Content-Type": rendered.contentType], body: rendered.body)
    }

    /// Half-closes after the pending writes and keeps reading (discarding) for a bounded time, so a client
    /// still sending gets our answer instead of a reset.
    private func startLinger() {
        guard !isClosed, !lingering else { return }
        lingering = true
        timeouts.enter(.lingering, now: server.loop.iterationTime)
        stash = []
        stream.shutdown { _ in }
        stream.resumeReading()
    }

    func tick(now: Instant) {
        guard !isClosed else { return }
        // A large write completes only when all of it is out; a client reading slowly still takes bytes.
        let queued = stream.writeQueueBytes
        if queued < lastWriteQueueBytes { timeouts.writeProgressed(now: now, stillPending: writesInFlight > 0) }
        lastWriteQueueBytes = queued
        guard let action = timeouts.check(now: now, limits: server.limits) else { return }
        switch action {
        case .close, .dropStalledWriter:
            closeNow()
        case .requestTimeout(let reason):
            server.noteTimeout()
            closeAfterResponse = true
            if let request, let response {
                request.fail(.timedOut)
                if !response.isHeadWritten && !response.isEnded {
                    sendError(408, reason, through: response)
                }
                if !response.isEnded || timeouts.phase != .lingering { startLinger() }
            } else {
                answerAndClose(.init(status: 408, reason: reason))
            }
        }
    }

    /// Gracefully ends an idle keep-alive connection (server shutdown).
    func closeIfIdle() {
        if isIdle { closeNow() } else { closeAfterResponse = true }
    }

    func closeNow() {
        guard !isClosed else { return }
        isClosed = true
        if let request, !request.isBodyComplete { request.fail(.truncated) }
        response?.abort()
        if inFlightCounted {
            inFlightCounted = false
            server.requestFinished()
        }
        request = nil
        response = nil
        parser.delegate = nil
        stream.close()
        server.connectionClosed(self)
    }
}
