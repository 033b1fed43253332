import CUV

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address and port.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    enum Storage: Hashable, Sendable {
        case v4(host: [UInt8], port: UInt16)
        case v6(host: [UInt8], port: UInt16, scope: UInt32)
    }

    let storage: Storage

    /// Parses a numeric address (`127.0.0.1`, `::1`); host names go through `Resolver`.
    public init(ip: String, port: Int) throws(UVError) {
        guard (0...65535).contains(port) else { throw UVError(code: UV_EINVAL.rawValue, operation: "port \(port)") }
        var v4 = sockaddr_in()
        if uv_ip4_addr(ip, Int32(port), &v4) == 0 {
            self.init(sockaddr: &v4)
            return
        }
        var v6 = sockaddr_in6()
        try UV.check(uv_ip6_addr(ip, Int32(port), &v6), "parse IP address '\(ip)'")
        self.init(sockaddr6: &v6)
    }

    init(sockaddr: UnsafePointer<sockaddr_in>) {
        let a = sockaddr.pointee
        let host = withUnsafeBytes(of: a.sin_addr) { Array($0) }
        storage = .v4(host: host, port: UInt16(bigEndian: a.sin_port))
    }

    init(sockaddr6: UnsafePointer<sockaddr_in6>) {
        let a = sockaddr6.pointee
        let host = withUnsafeBytes(of: a.sin6_addr) { Array($0) }
        storage = .v6(host: host, port: UInt16(bigEndian: a.sin6_port), scope: a.sin6_scope_id)
    }

    /// Reads a `sockaddr_storage` filled by getsockname/getpeername/getaddrinfo.
    init?(storage: UnsafeRawPointer) {
        let family = storage.assumingMemoryBound(to: sockaddr.self).pointee.sa_family
        switch Int32(family) {
        case AF_INET: self.init(sockaddr: storage.assumingMemoryBound(to: sockaddr_in.self))
        case AF_INET6: self.init(sockaddr6: storage.assumingMemoryBound(to: sockaddr_in6.self))
        default: return nil
        }
    }

    public var port: Int {
        switch storage {
        case .v4(_, let port), .v6(_, let port, _): Int(port)
        }
    }

    public var host: String {
        var buffer = [CChar](repeating: 0, count: 64)
        switch storage {
        case .v4(let host, _):
            host.withUnsafeBytes { _ = inet_ntop(AF_INET, $0.baseAddress, &buffer, 64) }
        case .v6(let host, _, _):
            host.withUnsafeBytes { _ = inet_ntop(AF_INET6, $0.baseAddress, &buffer, 64) }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        switch storage {
        case .v4: "\(host):\(port)"
        case .v6: "[\(host)]:\(port)"
        }
    }

    /// Calls `body` with a `sockaddr` pointer for libuv.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>) throws -> R) rethrows -> R {
        switch storage {
        case .v4(let host, let port):
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &a.sin_addr) { $0.copyBytes(from: host) }
            return try withUnsafePointer(to: &a) { try $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        case .v6(let host, let port, let scope):
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            a.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &a.sin6_addr) { $0.copyBytes(from: host) }
            return try withUnsafePointer(to: &a) { try $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
    }
}
