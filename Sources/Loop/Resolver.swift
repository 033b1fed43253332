import CUV

#if canImport(Glibc)
import Glibc
#endif

/// Resolves host names with `uv_getaddrinfo` (on the thread pool). Loop-bound.
public enum Resolver {
    /// Numeric addresses resolve at once; names go through getaddrinfo. IPv4 results come first.
    public static func resolve(
        loop: EventLoop, host: String, port: Int, completion: @escaping (Result<SocketAddress, UVError>) -> Void
    ) {
        if let address = try? SocketAddress(ip: host, port: port) {
            completion(.success(address))
            return
        }
        let request = ResolveRequest(port: port, completion: completion)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        let rc = uv_getaddrinfo(
            loop.raw, request.request,
            { req, status, info in
                let request = Unmanaged<ResolveRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
                request.finish(status: status, info: info)
                if let info { uv_freeaddrinfo(info) }
            }, host, String(port), &hints)
        if rc != 0 {
            Unmanaged.passUnretained(request).release()
            completion(.failure(UVError(code: rc, operation: "resolve \(host)")))
        }
    }
}

private final class ResolveRequest {
    let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
    let port: Int
    let completion: (Result<SocketAddress, UVError>) -> Void

    init(port: Int, completion: @escaping (Result<SocketAddress, UVError>) -> Void) {
        self.port = port
        self.completion = completion
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    func finish(status: Int32, info: UnsafeMutablePointer<addrinfo>?) {
        guard status == 0 else {
            completion(.failure(UVError(code: status, operation: "resolve")))
            return
        }
        var found: [SocketAddress] = []
        var cursor = info
        while let entry = cursor {
            if let addr = entry.pointee.ai_addr, let address = SocketAddress(storage: UnsafeRawPointer(addr)) {
                found.append(address)
            }
            cursor = entry.pointee.ai_next
        }
        let best = found.first { if case .v4 = $0.storage { true } else { false } } ?? found.first
        if let best {
            completion(.success(best))
        } else {
            completion(.failure(UVError(code: UV_EAI_NONAME.rawValue, operation: "resolve")))
        }
    }

    deinit { request.deallocate() }
}
