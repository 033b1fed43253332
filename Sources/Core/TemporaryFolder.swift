#if canImport(Glibc)
import Glibc
#endif

/// A new, private folder under `$TMPDIR` (else /tmp), as mkdtemp(3) makes it.
public enum TemporaryFolder {
    /// `<TMPDIR>/<prefix>-XXXXXX`; nil with errno set when it cannot be made.
    public static func make(prefix: String, environment: [String: String]) -> String? {
        var template = Array("\(environment["TMPDIR"] ?? "/tmp")/\(prefix)-XXXXXX".utf8CString)
        return mkdtemp(&template).map { String(cString: $0) }
    }
}
