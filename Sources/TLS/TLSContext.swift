import CTLS
import Core

/// Why TLS could not be set up or went wrong, in words a user can act on.
public struct TLSError: Error, Equatable, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Runs a `dc_tls` call that reports failure through an error buffer.
func withErrorText<T>(_ body: (UnsafeMutablePointer<CChar>, Int) -> T) -> (T, String) {
    var text = [CChar](repeating: 0, count: 512)
    let result = text.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    return (result, String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}

/// An OpenSSL context: a server's certificate and key, or the authorities a client trusts. Immutable
/// once made; shared by every connection of a server or client.
public final class TLSContext: @unchecked Sendable {
    let raw: OpaquePointer
    public let isServer: Bool

    private init(raw: OpaquePointer, isServer: Bool) {
        self.raw = raw
        self.isServer = isServer
    }

    deinit { dc_tls_ctx_free(raw) }

    /// Serves `certificate` (PEM: the leaf, then any intermediates) with `key`.
    public static func server(certificate: String, key: String) throws(TLSError) -> TLSContext {
        let (raw, reason) = withErrorText { dc_tls_server_ctx(certificate, key, $0, $1) }
        guard let raw else { throw TLSError(reason) }
        return TLSContext(raw: raw, isServer: true)
    }

    /// Verifies servers against `authorities` (PEM files, or folders of them), and the system's trust
    /// store when `systemRoots`.
    public static func client(trusting authorities: [String], systemRoots: Bool = true) throws(TLSError) -> TLSContext {
        let (made, reason) = withErrorText { dc_tls_client_ctx(systemRoots ? 1 : 0, $0, $1) }
        guard let made else { throw TLSError(reason) }
        let context = TLSContext(raw: made, isServer: false)
        for path in authorities {
            let (rc, reason) = withErrorText { dc_tls_ctx_trust(made, path, $0, $1) }
            if rc != 0 { throw TLSError(reason) }
        }
        return context
    }
}
