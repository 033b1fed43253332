import Core
import Loop

/// One pooled connection of the client. Carries one request at a time. Loop-bound.
final class ClientConnection: MessageParserDelegate {
    static let crlf = ByteBuffer(Array("\r\n".utf8))
    static let lastChunk = ByteBuffer(Array("0\r\n\r\n".utf8))

    unowned let client: HTTPClient
    let endpoint: HTTPEndpoint
    let stream: any ByteStream
    let parser: MessageParser
    private(set) var task: HTTPClientTask?
    private(set) var requestsServed = 0
    private(set) var idleSince: Instant
    private(set) var isClosed = false
    private var responseKeepAlive = true
    /// The message being parsed is a 1xx interim response, which completes without ending the request.
    private var parsingInterim = false
    /// Response bytes read while the consumer had paused the response.
    private var stash: [UInt8] = []
    private var isChunkedBody = false
    private var bodyTerminated = false
    private var bodyWritesInFlight = 0
    /// The server closed while the consumer held the response.
    private var sawEndOfFile = false

    init(client: HTTPClient, endpoint: HTTPEndpoint, stream: any ByteStream, now: Instant) {
        self.client = client
        self.endpoint = endpoint
        self.stream = stream
        self.idleSince = now
        parser = MessageParser(
            kind: .response, headerBytesMax: client.limits.responseHeaderBytesMax,
            headerCountMax: client.limits.responseHeaderCountMax)
        parser.delegate = self
        // Read even while idle, so a server closing an idle connection is noticed before reuse.
        stream.startReading { [unowned self] event in self.onRead(event) }
    }

    var isReused: Bool { requestsServed > 0 }

    func send(_ task: HTTPClientTask) {
        precondition(self.task == nil, "a client connection carries one request at a time")
        self.task = task
        task.connection = self
        task.lastProgress = client.loop.iterationTime
        bodyTerminated = false
        let r = task.request
        var text = "\(r.method) \(r.target) HTTP/1.1\r\n"
        if !r.headers.contains("Host") { text += "Host: \(endpoint.hostHeader)\r\n" }
        var buffers: [ByteBuffer] = []
        switch r.body {
        case .bytes(let body):
            if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(r.method) {
                text += "Content-Length: \(body.count)\r\n"
            }
            if !body.isEmpty { buffers.append(ByteBuffer(body)) }
            bodyTerminated = true
        case .stream(let length):
            isChunkedBody = length == nil
            text += isChunkedBody ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(length!)\r\n"
        }
        for (name, value) in r.headers
        where !name.equalsIgnoringASCIICase("Content-Length") && !name.equalsIgnoringASCIICase("Transfer-Encoding") {
            text += "\(name): \(value)\r\n"
        }
        text += "\r\n"
        buffers.insert(ByteBuffer(Array(text.utf8)), at: 0)
        stream.write(buffers) { [weak self] error in
            if error != nil { self?.fail(.connectionClosed) }
        }
        flushBody()
    }

    /// Writes whatever streamed body the task has queued, in order.
    func flushBody() {
        guard let task, !isClosed, !bodyTerminated else { return }
        while !task.bodyQueue.isEmpty {
            let (buffer, completion) = task.bodyQueue.removeFirst()
            var buffers = [buffer]
            if isChunkedBody {
                guard buffer.count > 0 else {
                    completion?(nil)
                    continue
                }
                buffers = [
                    ByteBuffer(Array((String(buffer.count, radix: 16) + "\r\n").utf8)), buffer, ClientConnection.crlf,
                ]
            }
            bodyWritesInFlight += 1
            stream.write(buffers) { [weak self] error in
                guard let self else {
                    completion?(.cancelled)
                    return
                }
                self.bodyWritesInFlight -= 1
                if error == nil { task.lastProgress = self.client.loop.iterationTime }
                completion?(error == nil ? nil : .connectionClosed)
                if error != nil { self.fail(.connectionClosed) }
            }
        }
        if task.bodyEnded {
            bodyTerminated = true
            if isChunkedBody { stream.write([ClientConnection.lastChunk], completion: nil) }
        }
    }

    private func onRead(_ event: StreamReadEvent) {
        switch event {
        case .data(let bytes):
            guard let task else {
                // Bytes while idle: the server is confused or closing; do not reuse this connection.
                close()
                return
            }
            task.receivedResponseBytes = true
            task.lastProgress = client.loop.iterationTime
            consume(bytes)
        case .endOfFile:
            endOfInput()
        case .error:
            fail(.connectionClosed)
        }
    }

    /// The server closed. A response the consumer holds is finished once it resumes.
    private func endOfInput() {
        if task?.isResponsePaused == true || !stash.isEmpty {
            sawEndOfFile = true
            return
        }
        if task != nil, parser.finish() == nil, task == nil {
            return  // the response was delimited by the close and is complete
        }
        fail(.connectionClosed)
    }

    /// Feeds response bytes to the parser; bytes that arrive while the consumer holds the response wait.
    private func consume(_ bytes: UnsafeRawBufferPointer) {
        var remaining = bytes
        while !remaining.isEmpty, !isClosed, let task {
            if task.isResponsePaused || !stash.isEmpty {
                stash.append(contentsOf: remaining)
                stream.stopReading()
                return
            }
            switch parser.feed(remaining) {
            case .consumed:
                remaining = UnsafeRawBufferPointer(rebasing: remaining[remaining.count...])
            case .paused(let consumed):
                remaining = UnsafeRawBufferPointer(rebasing: remaining[consumed...])
                // Paused at a message's end (the parser does that) or by the consumer inside a body chunk.
                if !(self.task?.isResponsePaused ?? false) { parser.resume() }
            case .failed(let failure):
                fail(.malformedResponse(failure.reason))
                return
            }
        }
        if !remaining.isEmpty && !isClosed && task == nil {
            close()  // bytes after the response: do not trust this connection again
        }
        // Paused inside the last chunk: nothing is left over, but nothing more may be read either.
        if task?.isResponsePaused == true && !isClosed { stream.stopReading() }
    }

    func resumeResponse() {
        guard task != nil, !isClosed else { return }
        parser.resume()
        let held = stash
        stash = []
        held.withUnsafeBytes { consume($0) }
        guard !isClosed, stash.isEmpty, task?.isResponsePaused != true else { return }
        if sawEndOfFile {
            endOfInput()
        } else {
            stream.resumeReading()
        }
    }

    // MARK: Parser delegate

    func parserDidReceiveHead(_ head: MessageParser.Head) -> MessageParser.HeadDisposition {
        guard let task else { return .reject(.malformed("a response without a request")) }
        parsingInterim = (100..<200).contains(head.status)
        if parsingInterim { return .proceed }  // the real response follows
        responseKeepAlive = head.keepAlive
        task.handlers?.head(
            HTTPResponseHead(
                status: head.status, version: head.version, headers: head.headers, contentLength: head.contentLength,
                keepAlive: head.keepAlive))
        return task.request.method == "HEAD" ? .skipBody : .proceed
    }

    func parserDidReceiveBody(_ bytes: UnsafeRawBufferPointer) {
        guard let task else { return }
        task.handlers?.body(bytes)
        if task.isResponsePaused { parser.pause() }
    }

    func parserDidCompleteMessage() {
        guard let task, task.handlers != nil else { return }
        if parsingInterim {
            parsingInterim = false
            return
        }
        requestsServed += 1
        self.task = nil
        idleSince = client.loop.iterationTime
        // A connection whose request body was not fully sent (the server answered early) is not reused.
        let reusable = responseKeepAlive && bodyTerminated && bodyWritesInFlight == 0 && !isClosed
        // Back to the pool first, so a request made from the completion can reuse this connection.
        if reusable {
            client.connectionBecameIdle(self)
        } else {
            close()
        }
        task.finish(nil)
    }

    // MARK: Ending

    func fail(_ error: HTTPClientError) {
        let task = self.task
        self.task = nil
        close()
        if let task { client.connectionFailed(task, error) }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        parser.delegate = nil
        stash = []
        stream.close()
        client.connectionClosed(self)
    }
}
