import Core

#if canImport(Glibc)
import Glibc
#endif

/// Blocking file operations with errors that name the path. Called on thread-pool threads only.
enum FileOps {
    static func fail(_ path: String, _ operation: String) -> StorageError {
        let e = errno
        if e == ENOSPC || e == EDQUOT { return .diskFull(path: path) }
        return .io(path: path, errno: e, operation: operation)
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether a folder certainly has no folders inside: its link count says so on ext4, xfs and tmpfs
    /// (2 + one per subfolder); file systems that report 1 for folders (btrfs) are not sure.
    static func hasNoSubfolders(_ path: String) -> Bool {
        var s = stat()
        return lstat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR && s.st_nlink == 2
    }

    /// Whether a folder certainly has nothing in it: no subfolder by its link count (where the file
    /// system keeps one), then no entry at all, reading no further than the first one.
    static func isEmptyFolder(_ path: String) -> Bool {
        var s = stat()
        guard lstat(path, &s) == 0, (s.st_mode & S_IFMT) == S_IFDIR, s.st_nlink <= 2 else { return false }
        guard let dir = opendir(path) else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { return false }
        }
        return true
    }

    /// The folder that holds `path` ("" for a name without one).
    static func parent(of path: String) -> String {
        String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
    }

    static func makeDirectories(_ path: String) throws(StorageError) {
        if isDirectory(path) { return }
        let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !parent.isEmpty && !isDirectory(parent) { try makeDirectories(parent) }
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw fail(path, "mkdir") }
    }

    /// The whole file, read straight into an array of its size; nil when there is no such file.
    static func readIfExists(_ path: String, limit: Int = 64 << 20) throws(StorageError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw fail(path, "open")
        }
        defer { close(fd) }
        var s = stat()
        guard fstat(fd, &s) == 0 else { throw fail(path, "fstat") }
        let expected = Int(s.st_size)
        guard expected <= limit else { throw .corrupt(path: path, reason: "larger than \(limit) bytes") }
        var out: [UInt8] = []
        out.reserveCapacity(expected)
        // The size first; then a 1-byte read to see the end (more if the file grew meanwhile).
        var chunk = max(expected, 1)
        while true {
            let start = out.count
            var readErrno: Int32 = 0
            out.append(contentsOf: repeatElement(0, count: chunk))
            let n = out.withUnsafeMutableBytes { raw -> Int in
                while true {
                    let n = Glibc.read(fd, raw.baseAddress! + start, chunk)
                    if n >= 0 { return n }
                    if errno != EINTR {
                        readErrno = errno
                        return 0
                    }
                }
            }
            out.removeLast(chunk - n)
            if readErrno != 0 {
                errno = readErrno
                throw fail(path, "read")
            }
            if n == 0 { return out }
            guard out.count <= limit else { throw .corrupt(path: path, reason: "larger than \(limit) bytes") }
            chunk = out.count == expected ? 1 : 64 << 10
        }
    }

    static func read(_ path: String, limit: Int = 64 << 20) throws(StorageError) -> [UInt8] {
        guard let bytes = try readIfExists(path, limit: limit) else { throw fail(path, "open") }
        return bytes
    }

    /// Writes `bytes` to a new file and fsyncs it (the caller renames it into place).
    static func writeSynced(_ path: String, _ bytes: [UInt8]) throws(StorageError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail(path, "create") }
        var ok = true
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    ok = false
                    return
                }
                offset += n
            }
        }
        if !ok {
            let error = fail(path, "write")
            close(fd)
            unlink(path)
            throw error
        }
        if fsync(fd) != 0 {
            let error = fail(path, "fsync")
            close(fd)
            unlink(path)
            throw error
        }
        close(fd)
    }

    static func rename(_ from: String, _ to: String) throws(StorageError) {
        if Glibc.rename(from, to) != 0 { throw fail(from, "rename to \(to)") }
    }

    /// Makes a directory's entries (renames into it) durable.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    static func entries(_ path: String) throws(StorageError) -> [String] {
        guard let dir = opendir(path) else { throw fail(path, "opendir") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Deletes a file or a whole tree; missing is fine.
    static func removeTree(_ path: String) {
        var s = stat()
        guard lstat(path, &s) == 0 else { return }
        if (s.st_mode & S_IFMT) == S_IFDIR {
            for name in (try? entries(path)) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
