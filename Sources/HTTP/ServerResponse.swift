import Core
import Loop

/// The response to one request. Loop-bound.
///
/// Either `send(...)` in one call, or `writeHead`, any number of `write`s (each completes once its bytes
/// are handed to the kernel: wait for it before producing more, that is the back-pressure) and `end()`.
/// A response without a Content-Length is sent chunked (close-delimited for HTTP/1.0 clients).
public final class HTTPServerResponse {
    public enum WriteError: Error, Equatable, CustomStringConvertible {
        /// The client went away; stop producing.
        case connectionClosed

        public var description: String { "the client closed the connection" }
    }

    enum Framing {
        case contentLength(Int64)
        case chunked, closeDelimited, none
    }

    weak var connection: ServerConnection?
    let isHead: Bool
    let requestVersion: HTTPVersion
    public private(set) var status: Int?
    public private(set) var isEnded = false
    public private(set) var isAborted = false
    public private(set) var bodyBytesWritten: Int64 = 0
    var framing: Framing = .none
    private var pendingHead: ByteBuffer?
    private var abortHandlers: [() -> Void] = []
    private var endHandlers: [(_ aborted: Bool) -> Void] = []
    /// Headers added to every response of this exchange (request id, server), before the handler's own.
    public var defaultHeaders = HTTPHeaders()

    init(connection: ServerConnection, isHead: Bool, requestVersion: HTTPVersion) {
        self.connection = connection
        self.isHead = isHead
        self.requestVersion = requestVersion
    }

    public var isHeadWritten: Bool { status != nil }

    /// Runs `handler` if the connection dies before the response ends (once; at once if already dead).
    public func onAbort(_ handler: @escaping () -> Void) {
        if isAborted { handler() } else if !isEnded { abortHandlers.append(handler) }
    }

    /// Runs `handler` once the response has ended, or was cut off (`aborted`): for accounting.
    public func onEnd(_ handler: @escaping (_ aborted: Bool) -> Void) {
        if isEnded || isAborted { handler(isAborted) } else { endHandlers.append(handler) }
    }

    private func ended(aborted: Bool) {
        let handlers = endHandlers
        endHandlers = []
        for handler in handlers { handler(aborted) }
    }

    /// Sends a whole response.
    public func send(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        send(status: status, headers: headers, body: body.isEmpty ? nil : ByteBuffer(body))
    }

    public func send(status: Int, headers: HTTPHeaders = [:], body: ByteBuffer?) {
        writeHead(status: status, headers: headers, contentLength: Int64(body?.count ?? 0))
        if let body, body.count > 0 { write(body) }
        end()
    }

    /// Starts the response. `contentLength` nil means chunked. For HEAD, pass the length a GET would have.
    public func writeHead(status: Int, headers: HTTPHeaders = [:], contentLength: Int64?) {
        guard let connection, !isAborted else { return }
        guard self.status == nil else {
            assertionFailure("writeHead called twice")
            return
        }
        self.status = status
        var all = defaultHeaders
        for (name, value) in headers { all.set(name, value) }
        let noBody = HTTPStatus.forbidsBody(status)
        if noBody {
            framing = .none
            all.remove("Content-Length")
            all.remove("Transfer-Encoding")
            if status == 304, let contentLength { all.set("Content-Length", String(contentLength)) }
        } else if let contentLength {
            framing = isHead ? .none : .contentLength(contentLength)
            all.set("Content-Length", String(contentLength))
        } else if requestVersion == .http1_1 {
            framing = isHead ? .none : .chunked
            all.set("Transfer-Encoding", "chunked")
        } else {
            framing = isHead ? .none : .closeDelimited
            connection.closeAfterResponse = true
        }
        if case .contentLength(0) = framing { framing = .none }
        pendingHead = connection.encodeHead(status: status, headers: &all)
    }

    /// Writes body bytes. `completion` runs when they are handed to the kernel, or with an error.
    public func write(_ buffer: ByteBuffer, completion: ((WriteError?) -> Void)? = nil) {
        guard let connection, !isAborted, !isEnded else {
            completion?(.connectionClosed)
            return
        }
        precondition(status != nil, "write before writeHead")
        var buffers: [ByteBuffer] = []
        if let head = pendingHead {
            buffers.append(head)
            pendingHead = nil
        }
        switch framing {
        case .none:
            break  // HEAD, 204, 304: the body is not sent
        case .contentLength(let length):
            let allowed = max(0, length - bodyBytesWritten)
            if Int64(buffer.count) > allowed {
                // Our bug, not the client's: never send past the length we promised.
                assertionFailure("response body longer than its Content-Length")
                connection.closeAfterResponse = true
                if allowed > 0 {
                    buffers.append(ByteBuffer(copying: UnsafeRawBufferPointer(rebasing: buffer.bytes[..<Int(allowed)])))
                }
            } else if buffer.count > 0 {
                buffers.append(buffer)
            }
        case .chunked:
            if buffer.count > 0 {
                buffers.append(ByteBuffer(Array((String(buffer.count, radix: 16) + "\r\n").utf8)))
                buffers.append(buffer)
                buffers.append(ServerConnection.crlf)
            }
        case .closeDelimited:
            buffers.append(buffer)
        }
        bodyBytesWritten += Int64(buffer.count)
        guard !buffers.isEmpty else {
            completion?(nil)
            return
        }
        connection.write(buffers) { error in completion?(error == nil ? nil : .connectionClosed) }
    }

    public func write(_ bytes: [UInt8], completion: ((WriteError?) -> Void)? = nil) {
        write(ByteBuffer(bytes), completion: completion)
    }

    /// Finishes the response; the connection moves on to the next request once the bytes are out.
    public func end() {
        guard let connection, !isAborted, !isEnded else { return }
        if status == nil { writeHead(status: 200, contentLength: 0) }
        var buffers: [ByteBuffer] = []
        if let head = pendingHead {
            buffers.append(head)
            pendingHead = nil
        }
        switch framing {
        case .chunked: buffers.append(ServerConnection.lastChunk)
        case .contentLength(let length) where bodyBytesWritten < length:
            // The handler gave fewer bytes than it promised; the client would wait forever.
            connection.closeAfterResponse = true
        case .closeDelimited: connection.closeAfterResponse = true
        default: break
        }
        isEnded = true
        abortHandlers = []
        connection.responseEnded(self, finalBuffers: buffers)
        ended(aborted: false)
    }

    /// Drops the connection mid-response (an error after the head was sent): the client sees a cut
    /// stream instead of waiting for bytes that will never come.
    public func abortConnection() {
        connection?.closeNow()
    }

    func abort() {
        guard !isEnded, !isAborted else { return }
        isAborted = true
        let handlers = abortHandlers
        abortHandlers = []
        for handler in handlers { handler() }
        ended(aborted: true)
    }
}
