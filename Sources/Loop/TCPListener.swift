import CUV

#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket. Loop-bound.
public final class TCPListener: LoopHandle {
    private var onConnection: ((TCPConnection) -> Void)?
    private var onAcceptError: ((UVError) -> Void)?

    /// Binds and listens. A busy port is reported here: libuv defers EADDRINUSE from bind to listen, so
    /// both happen in this one call.
    public init(
        loop: EventLoop, address: SocketAddress, backlog: Int32 = 511, label: String = "tcp listener"
    ) throws(UVError) {
        super.init(loop: loop, type: UV_TCP, label: label)
        try UV.check(uv_tcp_init(loop.raw, tcp), "uv_tcp_init")
        didInitialize()
        do {
            let tcp = self.tcp
            try UV.check(address.withSockAddr { uv_tcp_bind(tcp, $0, 0) }, "bind \(address)")
            try UV.check(
                uv_listen(asStream(tcp), backlog) { server, status in
                    LoopHandle.from(server, as: TCPListener.self).accept(status: status)
                }, "listen on \(address)")
        } catch {
            close()
            throw error
        }
    }

    private var tcp: UnsafeMutablePointer<uv_tcp_t> { raw.assumingMemoryBound(to: uv_tcp_t.self) }

    /// Starts handing accepted connections to `handler`; until then connections wait in the backlog.
    public func start(onConnection handler: @escaping (TCPConnection) -> Void, onError: ((UVError) -> Void)? = nil) {
        onConnection = handler
        onAcceptError = onError
    }

    /// The bound address (with the real port when bound to port 0).
    public var localAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(tcp, $0, &length) }
        }
        guard rc == 0 else { return nil }
        return withUnsafePointer(to: &storage) { SocketAddress(storage: UnsafeRawPointer($0)) }
    }

    private func accept(status: Int32) {
        guard status >= 0 else {
            onAcceptError?(UVError(code: status, operation: "accept"))
            return
        }
        let connection: TCPConnection
        do {
            connection = try TCPConnection(loop: loop, label: "tcp connection (accepted)")
        } catch {
            onAcceptError?(error)
            return
        }
        let rc = uv_accept(asStream(tcp), connection.stream)
        guard rc == 0 else {
            connection.close()
            onAcceptError?(UVError(code: rc, operation: "uv_accept"))
            return
        }
        connection.setNoDelay()
        guard let onConnection else {
            connection.close()
            return
        }
        onConnection(connection)
    }

    override func didClose() {
        onConnection = nil
        onAcceptError = nil
    }
}

extension TCPListener {
    /// Whether a listener could bind `port` on `host` now (SO_REUSEADDR, as libuv binds: a port in
    /// TIME_WAIT counts as free).
    public static func isFree(_ port: Int, host: String = "127.0.0.1") -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0 && Glibc.listen(fd, 1) == 0
    }

}
