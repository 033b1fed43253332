import CTLS
import Core
import Loop

#if canImport(Glibc)
import Glibc
#endif

/// TLS over a TCP connection. Ciphertext goes through OpenSSL's memory buffers; the reader sees only
/// plaintext, with the same back-pressure as a bare connection (a stopped reader stops the socket,
/// and records already received wait inside OpenSSL). Loop-bound.
///
/// A server stream runs its handshake under its first reads; writes made before it completes wait for
/// it. A client stream is handed out by `connect` only once its handshake is done.
public final class TLSStream: ByteStream {
    let tcp: TCPConnection
    let loop: EventLoop
    private let tls: OpaquePointer
    private var handshakeDone = false
    private var onHandshake: ((TLSError?) -> Void)?
    private var onRead: ((StreamReadEvent) -> Void)?
    private var wantsReading = false
    /// The socket ended (or failed) after the handshake: delivered once the buffered records are read.
    private var inputEnded: StreamReadEvent?
    private var finished = false
    private var drainScheduled = false
    private var heldWrites: [(buffers: [ByteBuffer], completion: ((UVError?) -> Void)?)] = []
    /// A shutdown asked for before the handshake completed: done once the held writes are out.
    private var heldShutdown: ((UVError?) -> Void)??
    private var isClosed = false

    /// The negotiated protocol version (e.g. `TLSv1.3`), once the handshake is done.
    public var version: String { String(cString: dc_tls_version(tls)) }

    private init(tcp: TCPConnection, loop: EventLoop, tls: OpaquePointer) {
        self.tcp = tcp
        self.loop = loop
        self.tls = tls
    }

    deinit {
        assert(isClosed || tcp.isClosing, "a TLSStream dropped without close(): its connection would outlive it")
        dc_tls_free(tls)
    }

    /// Serves TLS on an accepted connection.
    public static func accept(_ tcp: TCPConnection, loop: EventLoop, context: TLSContext) throws(TLSError) -> TLSStream
    {
        precondition(context.isServer, "TLSStream.accept needs a server context")
        let (raw, reason) = withErrorText { dc_tls_new(context.raw, 1, nil, $0, $1) }
        guard let raw else { throw TLSError(reason) }
        let stream = TLSStream(tcp: tcp, loop: loop, tls: raw)
        stream.listen()
        return stream
    }

    /// Starts TLS on a dialled connection, verifying that the server's certificate names `host`;
    /// `completion` runs once, with the stream after the handshake or with why it failed (the
    /// connection is then closed). Closing the stream before that cancels it. The caller keeps the
    /// stream until then (its socket's callbacks do not).
    public static func connect(
        _ tcp: TCPConnection, loop: EventLoop, context: TLSContext, host: String,
        completion: @escaping (Result<TLSStream, TLSError>) -> Void
    ) -> TLSStream? {
        precondition(!context.isServer, "TLSStream.connect needs a client context")
        let (raw, reason) = withErrorText { dc_tls_new(context.raw, 0, host, $0, $1) }
        guard let raw else {
            tcp.close()
            completion(.failure(TLSError(reason)))
            return nil
        }
        let stream = TLSStream(tcp: tcp, loop: loop, tls: raw)
        stream.onHandshake = { [unowned stream] error in
            if let error {
                completion(.failure(TLSError("TLS with \(host): \(error.reason)")))
            } else {
                completion(.success(stream))
            }
        }
        stream.listen()
        stream.advanceHandshake()
        return stream
    }

    private func listen() {
        tcp.startReading { [unowned self] event in self.socketRead(event) }
    }

    // MARK: ByteStream

    public var peerAddress: SocketAddress? { tcp.peerAddress }
    public var writeQueueBytes: Int { tcp.writeQueueBytes }

    public func startReading(_ handler: @escaping (StreamReadEvent) -> Void) {
        onRead = handler
        resumeReading()
    }

    public func resumeReading() {
        guard !isClosed, onRead != nil, !wantsReading else { return }
        wantsReading = true
        tcp.resumeReading()
        // Records already received are read on the next turn of the loop, never inside the caller.
        if handshakeDone && (inputEnded != nil || dc_tls_input_pending(tls) != 0) { scheduleDrain() }
    }

    public func stopReading() {
        wantsReading = false
        // The handshake must go on whatever the reader wants.
        if handshakeDone { tcp.stopReading() }
    }

    public func write(_ buffers: [ByteBuffer], completion: ((UVError?) -> Void)?) {
        guard !isClosed else {
            completion?(.cancelled("write after close"))
            return
        }
        guard handshakeDone else {
            guard heldWrites.count < TLSStream.heldWritesMax else {
                loop.execute { completion?(.cancelled("too many writes before the TLS handshake")) }
                return
            }
            heldWrites.append((buffers, completion))
            return
        }
        // Encrypted a piece at a time and moved out after each, so OpenSSL's output buffer never grows
        // past a piece (a whole shard in it would be reallocated, copied and zeroed as it grew).
        var out: [ByteBuffer] = []
        let total = buffers.reduce(0) { $0 + $1.count }
        for buffer in buffers where buffer.count > 0 {
            var offset = 0
            while offset < buffer.count {
                let piece = min(TLSStream.writePieceBytes, buffer.count - offset)
                guard dc_tls_write(tls, buffer.pointer + offset, piece) == 0 else {
                    // The record stream is broken past repair: what was encrypted cannot be sent alone.
                    let error = failure("TLS write")
                    fail(error)
                    close()
                    loop.execute { completion?(error) }
                    return
                }
                offset += piece
                takeOutput(into: &out, expecting: total)
            }
        }
        send(out, completion: completion)
    }

    /// Writes a stream takes before its handshake completes (a server's early answer is one or two).
    static let heldWritesMax = 64
    /// Plaintext encrypted per call into OpenSSL: four records.
    static let writePieceBytes = 64 << 10
    /// Room for the records' headers and tags in an output buffer, per piece.
    static let recordOverheadBytes = 4 * 64

    /// Moves what OpenSSL produced to the end of `out`, in buffers sized for the `expecting` bytes of
    /// plaintext (and their records' overhead) so that one write usually fills one buffer.
    private func takeOutput(into out: inout [ByteBuffer], expecting: Int) {
        var pending = dc_tls_output_pending(tls)
        while pending > 0 {
            if out.last.map({ $0.remainingCapacity == 0 }) ?? true {
                let pieces = expecting / TLSStream.writePieceBytes + 1
                out.append(ByteBuffer(capacity: max(pending, expecting + pieces * TLSStream.recordOverheadBytes)))
            }
            let last = out[out.count - 1]
            let taken = dc_tls_take_output(tls, last.pointer + last.count, last.remainingCapacity)
            guard taken > 0 else { break }  // OpenSSL said there is more, then gave nothing: do not spin
            last.setCount(last.count + taken)
            pending -= taken
        }
    }

    public func shutdown(completion: ((UVError?) -> Void)?) {
        guard !isClosed else {
            completion?(.cancelled("shutdown after close"))
            return
        }
        guard handshakeDone else {
            heldShutdown = .some(completion)
            return
        }
        dc_tls_close_notify(tls)
        flushOutput(completion: nil)
        tcp.shutdown(completion: completion)
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        wantsReading = false
        onRead = nil
        let held = heldWrites
        heldWrites = []
        for write in held { write.completion?(.cancelled("write after close")) }
        if let shutdown = heldShutdown {
            heldShutdown = nil
            shutdown?(.cancelled("shutdown after close"))
        }
        tcp.close()
        if let pending = onHandshake {
            onHandshake = nil
            pending(TLSError("closed before the handshake completed"))
        }
    }

    // MARK: Moving bytes

    private func socketRead(_ event: StreamReadEvent) {
        switch event {
        case .data(let bytes):
            guard dc_tls_feed(tls, bytes.baseAddress, bytes.count) == 0 else {
                fail(failure("TLS read"))
                return
            }
            if !handshakeDone {
                advanceHandshake()
                guard handshakeDone else { return }
            }
            drain()
        case .endOfFile, .error:
            guard handshakeDone else {
                let reason: String
                if case .error(let error) = event {
                    reason = "\(error)"
                } else {
                    reason = "the peer closed the connection"
                }
                handshakeFailed("TLS handshake: \(reason)")
                return
            }
            inputEnded = event
            drain()
        }
    }

    private func advanceHandshake() {
        let rc = dc_tls_handshake(tls)
        flushOutput(completion: nil)
        if rc < 0 {
            handshakeFailed(String(cString: dc_tls_error(tls)))
        } else if rc == 1 {
            handshakeDone = true
            if !wantsReading { tcp.stopReading() }
            let held = heldWrites
            heldWrites = []
            for write in held { self.write(write.buffers, completion: write.completion) }
            if let shutdown = heldShutdown {
                heldShutdown = nil
                self.shutdown(completion: shutdown)
            }
            if let done = onHandshake {
                onHandshake = nil
                done(nil)
            }
        }
    }

    private func handshakeFailed(_ reason: String) {
        if let done = onHandshake {
            onHandshake = nil
            close()
            done(TLSError(reason))
        } else {
            fail(UVError(code: -EPROTO, operation: reason))
        }
    }

    private func scheduleDrain() {
        guard !drainScheduled else { return }
        drainScheduled = true
        loop.execute { [weak self] in
            guard let self else { return }
            self.drainScheduled = false
            self.drain()
        }
    }

    /// Hands the reader what the records received so far decrypt to, while it wants reading.
    private func drain() {
        let scratch = loop.readScratch
        while wantsReading && !isClosed && !finished {
            var count = 0
            var rc: Int32 = 0
            while count < scratch.count {
                rc = dc_tls_read(tls, scratch.baseAddress! + count, scratch.count - count)
                guard rc > 0 else { break }
                count += Int(rc)
            }
            flushOutput(completion: nil)
            if count > 0 { onRead?(.data(UnsafeRawBufferPointer(start: scratch.baseAddress, count: count))) }
            if rc > 0 { continue }  // the buffer filled: there may be more
            if rc == -2 {
                deliverEnd(.endOfFile)
            } else if rc == -1 {
                deliverEnd(.error(failure("TLS read")))
            } else if let ended = inputEnded {
                // The peer closed without close_notify: HTTP's own framing tells a truncated message.
                deliverEnd(ended)
            }
            return
        }
    }

    private func deliverEnd(_ event: StreamReadEvent) {
        guard !isClosed, !finished else { return }
        finished = true
        tcp.stopReading()
        onRead?(event)
    }

    private func fail(_ error: UVError) {
        inputEnded = .error(error)
        deliverEnd(.error(error))
    }

    private func failure(_ operation: String) -> UVError {
        let reason = String(cString: dc_tls_error(tls))
        return UVError(code: -EPROTO, operation: reason.isEmpty ? operation : reason)
    }

    /// Sends what OpenSSL produced; `completion` runs once it is handed to the kernel.
    private func flushOutput(completion: ((UVError?) -> Void)?) {
        var out: [ByteBuffer] = []
        takeOutput(into: &out, expecting: 0)
        send(out, completion: completion)
    }

    private func send(_ out: [ByteBuffer], completion: ((UVError?) -> Void)?) {
        guard !out.isEmpty else {
            // Nothing to send (empty buffers): still complete later, as a socket write would.
            if let completion { loop.execute { completion(nil) } }
            return
        }
        tcp.write(out, completion: completion)
    }
}
