import Core
import Loop

/// One pooled connection of the client. Carries one request at a time. Loop-bound.
final class ClientConnection: MessageParserDelegate {
    unowned let client: HTTPClient
    let endpoint: HTTPEndpoint
    let tcp: TCPConnection
    let parser: MessageParser
    private(set) var task: HTTPClientTask?
    private(set) var requestsServed = 0
    private(set) var idleSince: Instant
    private(set) var isClosed = false
    private var responseKeepAlive = true
    /// The message being parsed is a 1xx interim response, which completes without ending the request.
    private var parsingInterim = false
    private var responseBytes = 0

    init(client: HTTPClient, endpoint: HTTPEndpoint, tcp: TCPConnection, now: Instant) {
        self.client = client
        self.endpoint = endpoint
        self.tcp = tcp
        self.idleSince = now
        parser = MessageParser(
            kind: .response, headerBytesMax: client.limits.responseHeaderBytesMax, headerCountMax: 1000)
        parser.delegate = self
        // Read even while idle, so a server closing an idle connection is noticed before reuse.
        tcp.startReading { [unowned self] event in self.onRead(event) }
    }

    var isReused: Bool { requestsServed > 0 }

    func send(_ task: HTTPClientTask) {
        precondition(self.task == nil, "a client connection carries one request at a time")
        self.task = task
        task.connection = self
        responseBytes = 0
        let r = task.request
        var text = "\(r.method) \(r.target) HTTP/1.1\r\n"
        if !r.headers.contains("Host") { text += "Host: \(endpoint.hostHeader)\r\n" }
        if !r.body.isEmpty || ["POST", "PUT", "PATCH"].contains(r.method) {
            text += "Content-Length: \(r.body.count)\r\n"
        }
        for (name, value) in r.headers where !name.equalsIgnoringASCIICase("Content-Length") {
            text += "\(name): \(value)\r\n"
        }
        text += "\r\n"
        var buffers = [ByteBuffer(Array(text.utf8))]
        if !r.body.isEmpty { buffers.append(ByteBuffer(r.body)) }
        tcp.write(buffers) { [weak self] error in
            if error != nil { self?.fail(.connectionClosed) }
        }
    }

    private func onRead(_ event: TCPConnection.ReadEvent) {
        switch event {
        case .data(let bytes):
            guard let task else {
                // Bytes while idle: the server is confused or closing; do not reuse this connection.
                close()
                return
            }
            task.receivedResponseBytes = true
            var remaining = bytes
            while !remaining.isEmpty, !isClosed, self.task != nil {
                switch parser.feed(remaining) {
                case .consumed:
                    remaining = UnsafeRawBufferPointer(rebasing: remaining[remaining.count...])
                case .paused(let consumed):
                    // Paused at message completion (or after a 1xx interim response).
                    parser.resume()
                    remaining = UnsafeRawBufferPointer(rebasing: remaining[consumed...])
                case .failed(let failure):
                    fail(.malformedResponse(failure.reason))
                    return
                }
            }
            if !remaining.isEmpty && !isClosed {
                close()  // bytes after the response: do not trust this connection again
            }
        case .endOfFile:
            if task != nil, parser.finish() == nil, task == nil {
                return  // the response was delimited by the close and is complete
            }
            fail(.connectionClosed)
        case .error:
            fail(.connectionClosed)
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
        task?.handlers?.body(bytes)
    }

    func parserDidCompleteMessage() {
        guard let task, task.handlers != nil else { return }
        if parsingInterim {
            parsingInterim = false
            return
        }
        requestsServed += 1
        self.task = nil
        idleSince = client.loop.now
        // Back to the pool first, so a request made from the completion can reuse this connection.
        if responseKeepAlive && !isClosed {
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
        tcp.close()
        client.connectionClosed(self)
    }
}
