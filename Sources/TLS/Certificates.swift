import CTLS
import Core

#if canImport(Glibc)
import Glibc
#endif

/// A node's certificates in MinIO's layout: `public.crt` (its certificate, then any intermediates),
/// `private.key`, and `CAs/` (the authorities it trusts when it calls other nodes).
public struct CertificateFolder: Sendable, Equatable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var certificate: String { path + "/public.crt" }
    public var key: String { path + "/private.key" }
    public var authorities: String { path + "/CAs" }

    /// Whether the folder holds a certificate to serve (a folder without one means plain HTTP).
    public var hasCertificate: Bool { access(certificate, F_OK) == 0 }

    /// The context a node serves with.
    public func serverContext() throws(TLSError) -> TLSContext {
        guard access(key, R_OK) == 0 else {
            throw TLSError("\(certificate) is there but \(key) cannot be read: put the certificate's key beside it")
        }
        return try TLSContext.server(certificate: certificate, key: key)
    }

    /// The context a node calls others with: it trusts `CAs/`, its own certificate (a self-signed one
    /// shared by every node works), and the system's trust store.
    public func clientContext() throws(TLSError) -> TLSContext {
        var trusted = [certificate]
        if access(authorities, F_OK) == 0 { trusted.append(authorities) }
        return try TLSContext.client(trusting: trusted)
    }
}

/// A private certificate authority in a folder (`ca.crt`, `ca.key`), and the server certificates it
/// signs. Files are written with the process's umask; keys are 0600.
public struct CertificateAuthority: Sendable {
    public let folder: String
    public var certificate: String { folder + "/ca.crt" }
    public var key: String { folder + "/ca.key" }

    /// Days a certificate made here is valid (a local cluster's certificates should not expire under it).
    public static let validDays = 3650

    /// Uses the authority in `folder`, making it first when it is not there.
    public init(folder: String, name: String = "devcluster local CA") throws(TLSError) {
        self.folder = folder
        if access(certificate, F_OK) == 0 && access(key, F_OK) == 0 { return }
        guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
            throw TLSError("cannot make \(folder): \(String(cString: strerror(errno)))")
        }
        let (rc, reason) = withErrorText {
            dc_tls_make_authority(key, certificate, name, Int32(Self.validDays), $0, $1)
        }
        if rc != 0 { throw TLSError(reason) }
    }

    /// Makes a certificate for `names` (DNS names or IP addresses) in `target`'s layout, with the
    /// authority in its `CAs/`.
    public func issue(for names: [String], into target: CertificateFolder) throws(TLSError) {
        precondition(!names.isEmpty, "a certificate needs a name")
        for folder in [target.path, target.authorities] {
            guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
                throw TLSError("cannot make \(folder): \(String(cString: strerror(errno)))")
            }
        }
        var cNames = names.map { strdup($0) }
        defer { for name in cNames { free(name) } }
        let (rc, reason) = cNames.withUnsafeMutableBufferPointer { pointers in
            pointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { names in
                withErrorText {
                    dc_tls_make_certificate(
                        key, certificate, target.key, target.certificate, names.baseAddress, Int32(names.count),
                        Int32(Self.validDays), $0, $1)
                }
            }
        }
        if rc != 0 { throw TLSError(reason) }
        try copyFile(certificate, to: target.authorities + "/ca.crt")
    }

    private func copyFile(_ from: String, to: String) throws(TLSError) {
        guard let input = fopen(from, "r") else { throw TLSError("cannot read \(from)") }
        defer { fclose(input) }
        guard let output = fopen(to, "w") else { throw TLSError("cannot write \(to)") }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var ok = true
        while true {
            let n = fread(&buffer, 1, buffer.count, input)
            if n == 0 { break }
            if fwrite(buffer, 1, n, output) != n { ok = false }
        }
        if fclose(output) != 0 || !ok { throw TLSError("cannot write \(to)") }
    }
}
