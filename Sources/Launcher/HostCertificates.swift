import Core
import FoundationEssentials
import Node
import TLS

/// Certificates for a deployment on several hosts (`devcluster certs`): one private CA, and for each
/// host a folder in MinIO's layout to copy to that host and name with `devnode --certs-dir`.
public enum HostCertificates {
    public struct Made: Sendable {
        public var authority: String
        public var hosts: [(host: String, folder: String)]
    }

    /// `hosts` may hold ranges (`node{1...4}`); every certificate also names `extraNames` (a load
    /// balancer's name, `localhost`). An authority already in `folder/ca` is kept, so hosts added later
    /// trust and are trusted by the first ones.
    public static func make(
        hosts patterns: [String], extraNames: [String], folder: String
    ) throws(LauncherError)
        -> Made
    {
        var hosts: [String] = []
        for pattern in patterns {
            do {
                hosts += try Ellipsis.expand(pattern)
            } catch {
                throw .usage("--hosts \(pattern): \(error.description)")
            }
        }
        guard !hosts.isEmpty else { throw .usage("--hosts: name at least one host, e.g. --hosts node{1...4}") }
        for host in hosts + extraNames {
            guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }) else {
                throw .usage("\"\(host)\" is not a host name or an IP address")
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .io(path: folder, reason: "\(error)")
        }
        do {
            let authority = try CertificateAuthority(folder: folder + "/ca", name: "devcluster CA")
            var made: [(String, String)] = []
            for host in hosts {
                let target = CertificateFolder(folder + "/" + host)
                try authority.issue(for: [host] + extraNames.filter { $0 != host }, into: target)
                made.append((host, target.path))
            }
            return Made(authority: authority.certificate, hosts: made)
        } catch {
            throw .io(path: folder, reason: error.reason)
        }
    }
}
