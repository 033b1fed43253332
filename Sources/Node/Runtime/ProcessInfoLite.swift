#if canImport(Glibc)
import Glibc
#endif

/// One environment variable, without FoundationEssentials' whole environment copy.
enum ProcessInfoLite {
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
