#if canImport(Glibc)
import Glibc
#endif

/// Reads a growing file line by line across calls (for `logs -f` and `events -f`): only whole lines are
/// returned; a partial last line waits for the next call. A file that shrank (replaced, wiped) is read
/// again from the start.
public struct LineCursor: Sendable {
    public let path: String
    public private(set) var offset = 0
    /// Lines longer than this are cut (a node never writes such lines; a corrupt file might).
    static let lineBytesMax = 1 << 20

    public init(path: String, offset: Int = 0) {
        self.path = path
        self.offset = offset
    }

    public mutating func readLines() -> [String] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        if size < offset { offset = 0 }
        guard size > offset else { return [] }
        var bytes = [UInt8](repeating: 0, count: size - offset)
        let n = pread(fd, &bytes, bytes.count, offset)
        guard n > 0 else { return [] }
        guard let lastNewline = bytes[0..<n].lastIndex(of: UInt8(ascii: "\n")) else {
            if n > LineCursor.lineBytesMax {
                offset += n
                return [String(decoding: bytes[0..<LineCursor.lineBytesMax], as: UTF8.self)]
            }
            return []
        }
        offset += lastNewline + 1
        return bytes[0..<lastNewline].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0.prefix(LineCursor.lineBytesMax), as: UTF8.self) }
    }
}
