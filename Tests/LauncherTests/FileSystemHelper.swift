#if canImport(Glibc)
import Glibc
#endif

/// Small file helpers for tests (no Foundation in the test targets).
enum FileSystemHelper {
    struct Failure: Error {}

    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 else { throw Failure() }
    }

    static func write(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure() }
        defer { close(fd) }
        var copy = text
        copy.withUTF8 { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    static func remove(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}
