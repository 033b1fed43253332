import CUV

/// An error returned by libuv, named after the call that failed.
public struct UVError: Error, Equatable, Hashable, CustomStringConvertible, Sendable {
    public let code: Int32
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// libuv's short name, e.g. `ECONNREFUSED`.
    public var name: String { String(cString: uv_err_name(code)) }
    public var message: String { String(cString: uv_strerror(code)) }
    public var description: String { "\(operation): \(message) (\(name))" }

    /// The error a request gets when its handle closed first.
    public static func cancelled(_ operation: String) -> UVError {
        UVError(code: UV_ECANCELED.rawValue, operation: operation)
    }

    public var isConnectionRefused: Bool { code == UV_ECONNREFUSED.rawValue }
    public var isCancelled: Bool { code == UV_ECANCELED.rawValue }
    public var isEndOfFile: Bool { code == UV_EOF.rawValue }
    public var isAddressInUse: Bool { code == UV_EADDRINUSE.rawValue }
    public var isNoSpace: Bool { code == UV_ENOSPC.rawValue }
    public var isNotFound: Bool { code == UV_ENOENT.rawValue }
    public var isInvalidArgument: Bool { code == UV_EINVAL.rawValue }
}

/// The one chokepoint through which libuv results become Swift errors.
enum UV {
    /// Throws a `UVError` when `rc` is negative; returns it otherwise (some calls return a count).
    @discardableResult
    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(UVError) -> Int32 {
        if rc < 0 { throw UVError(code: rc, operation: operation()) }
        return rc
    }

    /// For calls whose only failure modes are our own bugs (wrong handle type, double start): crash loudly.
    static func mustSucceed(_ rc: Int32, _ operation: @autoclosure () -> String) {
        precondition(rc >= 0, "\(operation()) failed: \(String(cString: uv_strerror(rc))): a devcluster bug")
    }
}

// MARK: Pointer casts along libuv's handle "inheritance" (uv_tcp_t -> uv_stream_t -> uv_handle_t)

@inline(__always)
func asHandle<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_handle_t.self)
}

@inline(__always)
func asStream<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_stream_t.self)
}
