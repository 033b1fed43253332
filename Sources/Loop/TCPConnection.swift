import CUV
import Core

#if canImport(Glibc)
import Glibc
#endif

/// A connected TCP stream (accepted or dialled). Loop-bound.
///
/// Reads are delivered as borrowed bytes valid only during the callback (they live in the loop's shared
/// read buffer); a reader that wants to keep them copies. Writes own their buffers until completion.
public final class TCPConnection: LoopHandle, ByteStream {
    public typealias ReadEvent = StreamReadEvent

    private var onRead: ((ReadEvent) -> Void)?
    public private(set) var isReading = false
    /// Bytes handed to `write` whose completion has not run yet.
    public private(set) var bytesWritePending = 0

    init(loop: EventLoop, label: String) throws(UVError) {
        super.init(loop: loop, type: UV_TCP, label: label)
        try UV.check(uv_tcp_init(loop.raw, tcp), "uv_tcp_init")
        didInitialize()
    }

    var tcp: UnsafeMutablePointer<uv_tcp_t> { raw.assumingMemoryBound(to: uv_tcp_t.self) }
    var stream: UnsafeMutablePointer<uv_stream_t> { asStream(tcp) }

    /// Dials `address`. Closing the returned connection before completion cancels the attempt (the
    /// completion then gets `ECANCELED`). The completion runs exactly once.
    public static func connect(
        loop: EventLoop, to address: SocketAddress, completion: @escaping (Result<TCPConnection, UVError>) -> Void
    ) -> TCPConnection? {
        let connection: TCPConnection
        do {
            connection = try TCPConnection(loop: loop, label: "tcp connection to \(address)")
        } catch {
            completion(.failure(error))
            return nil
        }
        let request = ConnectRequest(connection: connection, completion: completion)
        let rc = address.withSockAddr { addr in
            uv_tcp_connect(request.request, connection.tcp, addr) { req, status in
                let request = Unmanaged<ConnectRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
                request.finish(status: status)
            }
        }
        guard rc == 0 else {
            // The callback will never run: release at once.
            Unmanaged.passUnretained(request).release()
            connection.close()
            completion(.failure(UVError(code: rc, operation: "connect to \(address)")))
            return nil
        }
        return connection
    }

    public func setNoDelay() {
        uv_tcp_nodelay(tcp, 1)
    }

    public var peerAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(tcp, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return withUnsafePointer(to: &storage) { SocketAddress(storage: UnsafeRawPointer($0)) }
    }

    /// Starts (or resumes) delivering reads to `handler`.
    public func startReading(_ handler: @escaping (ReadEvent) -> Void) {
        onRead = handler
        resumeReading()
    }

    /// Resumes reading with the handler given to `startReading`.
    public func resumeReading() {
        guard !isReading, !isClosing, onRead != nil else { return }
        let rc = uv_read_start(
            stream,
            { h, _, buf in
                let loop = EventLoop.from(h!.pointee.loop)
                buf!.pointee = uv_buf_init(
                    loop.readBuffer.assumingMemoryBound(to: CChar.self), UInt32(EventLoop.readBufferBytes))
            },
            { s, nread, buf in
                let connection = LoopHandle.from(s, as: TCPConnection.self)
                connection.didRead(nread)
            })
        if rc == 0 {
            isReading = true
        } else {
            onRead?(.error(UVError(code: rc, operation: "uv_read_start")))
        }
    }

    /// Stops reading: the kernel buffers, then the peer's window fills (back-pressure).
    public func stopReading() {
        guard isReading, !isClosing else { return }
        uv_read_stop(stream)
        isReading = false
    }

    private func didRead(_ nread: Int) {
        if nread > 0 {
            onRead?(.data(UnsafeRawBufferPointer(start: loop.readBuffer, count: nread)))
        } else if nread < 0 {
            stopReading()
            let error = UVError(code: Int32(nread), operation: "read")
            onRead?(error.isEndOfFile ? .endOfFile : .error(error))
        }
        // nread == 0 is EAGAIN: nothing to do.
    }

    /// Writes `buffers` in order; `completion` runs once they are handed to the kernel (or failed,
    /// including `ECANCELED` when the connection closes first).
    public func write(_ buffers: [ByteBuffer], completion: ((UVError?) -> Void)? = nil) {
        let total = buffers.reduce(0) { $0 + $1.count }
        guard !isClosing else {
            completion?(.cancelled("write after close"))
            return
        }
        let request = WriteRequest(connection: self, buffers: buffers, byteCount: total, completion: completion)
        bytesWritePending += total
        // libuv copies the uv_buf_t array, so it lives on the stack; the bytes themselves stay owned by
        // `request` until the callback.
        let rc = withUnsafeTemporaryAllocation(of: uv_buf_t.self, capacity: buffers.count) { uvBuffers in
            for (i, buffer) in buffers.enumerated() {
                uvBuffers[i] = uv_buf_init(buffer.pointer.assumingMemoryBound(to: CChar.self), UInt32(buffer.count))
            }
            return uv_write(request.request, stream, uvBuffers.baseAddress, UInt32(buffers.count)) { req, status in
                Unmanaged<WriteRequest>.fromOpaque(req!.pointee.data).takeRetainedValue().finish(status: status)
            }
        }
        if rc != 0 {
            Unmanaged.passUnretained(request).release()
            bytesWritePending -= total
            completion?(UVError(code: rc, operation: "write"))
        }
    }

    public func write(_ bytes: [UInt8], completion: ((UVError?) -> Void)? = nil) {
        write([ByteBuffer(bytes)], completion: completion)
    }

    fileprivate func writeFinished(byteCount: Int) {
        bytesWritePending -= byteCount
    }

    /// Bytes libuv still holds for this stream (handed to `write`, not yet taken by the kernel).
    public var writeQueueBytes: Int { isClosing ? 0 : uv_stream_get_write_queue_size(stream) }

    /// Half-closes the sending side after pending writes (TCP FIN).
    public func shutdown(completion: ((UVError?) -> Void)? = nil) {
        guard !isClosing else {
            completion?(.cancelled("shutdown after close"))
            return
        }
        let request = ShutdownRequest(completion: completion)
        let rc = uv_shutdown(request.request, stream) { req, status in
            Unmanaged<ShutdownRequest>.fromOpaque(req!.pointee.data).takeRetainedValue().finish(status: status)
        }
        if rc != 0 {
            Unmanaged.passUnretained(request).release()
            completion?(UVError(code: rc, operation: "shutdown"))
        }
    }

    public func close() { close(then: nil) }

    override func willClose() {
        isReading = false
    }

    override func didClose() {
        onRead = nil
    }
}

/// A `uv_connect_t` box: owns the request until its callback.
private final class ConnectRequest {
    let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
    let connection: TCPConnection
    let completion: (Result<TCPConnection, UVError>) -> Void

    init(connection: TCPConnection, completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        self.connection = connection
        self.completion = completion
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    func finish(status: Int32) {
        if status < 0 {
            connection.close()
            completion(.failure(UVError(code: status, operation: "connect")))
        } else if connection.isClosing {
            completion(.failure(UVError(code: UV_ECANCELED.rawValue, operation: "connect")))
        } else {
            connection.setNoDelay()
            completion(.success(connection))
        }
    }

    deinit { request.deallocate() }
}

/// A `uv_write_t` box: owns the request and the bytes until the callback.
private final class WriteRequest {
    let request = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
    let connection: TCPConnection
    let buffers: [ByteBuffer]
    let byteCount: Int
    let completion: ((UVError?) -> Void)?

    init(connection: TCPConnection, buffers: [ByteBuffer], byteCount: Int, completion: ((UVError?) -> Void)?) {
        self.connection = connection
        self.buffers = buffers
        self.byteCount = byteCount
        self.completion = completion
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    func finish(status: Int32) {
        connection.writeFinished(byteCount: byteCount)
        completion?(status < 0 ? UVError(code: status, operation: "write") : nil)
    }

    deinit { request.deallocate() }
}

private final class ShutdownRequest {
    let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
    let completion: ((UVError?) -> Void)?

    init(completion: ((UVError?) -> Void)?) {
        self.completion = completion
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    func finish(status: Int32) {
        completion?(status < 0 ? UVError(code: status, operation: "shutdown") : nil)
    }

    deinit { request.deallocate() }
}
