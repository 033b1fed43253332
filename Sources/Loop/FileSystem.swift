import CUV
import Core

#if canImport(Glibc)
import Glibc
#endif

/// Asynchronous file operations over `uv_fs_*` (they run on the thread pool; completions run on the
/// loop thread). Loop-bound. Every completion runs exactly once.
public enum FileSystem {
    public struct Status: Sendable, Equatable {
        public var size: UInt64
        public var isDirectory: Bool
        public var isRegularFile: Bool
        public var modifiedSecondsSinceEpoch: Int64
    }

    public struct DiskSpace: Sendable, Equatable {
        /// Bytes an unprivileged writer may still use.
        public var availableBytes: UInt64
        public var totalBytes: UInt64
    }

    /// `O_DIRECT`: writes go from the caller's buffer to the device, bypassing the page cache. Offsets,
    /// lengths and buffer addresses must then be multiples of `directIOAlignment`. Some file systems
    /// (tmpfs) refuse the flag with EINVAL.
    public static let directIOFlag: Int32 = dc_o_direct()
    public static let directIOAlignment = 4096

    public static func open(
        loop: EventLoop, path: String, flags: Int32, mode: Int32 = 0o644,
        completion: @escaping (Result<Int32, UVError>) -> Void
    ) {
        submit(loop, "open \(path)", { req, cb in uv_fs_open(loop.raw, req, path, flags | O_CLOEXEC, mode, cb) }) {
            req in
            completion(result(req, "open \(path)").map { Int32($0) })
        }
    }

    public static func close(loop: EventLoop, descriptor: Int32, completion: @escaping (UVError?) -> Void) {
        submit(loop, "close", { req, cb in uv_fs_close(loop.raw, req, descriptor, cb) }) { req in
            completion(failure(req, "close"))
        }
    }

    /// Reads into the free space of `buffer` at file `offset` and grows its count by the bytes read
    /// (0 at end of file).
    public static func read(
        loop: EventLoop, descriptor: Int32, into buffer: ByteBuffer, offset: Int64,
        completion: @escaping (Result<Int, UVError>) -> Void
    ) {
        let start = buffer.count
        var uvBuffer = uv_buf_init(
            (buffer.pointer + start).assumingMemoryBound(to: CChar.self), UInt32(buffer.remainingCapacity))
        submit(
            loop, "read", { req, cb in uv_fs_read(loop.raw, req, descriptor, &uvBuffer, 1, offset, cb) },
            keepAlive: buffer
        ) { req in
            let r = result(req, "read")
            if case .success(let n) = r { buffer.setCount(start + n) }
            completion(r)
        }
    }

    /// Writes the first `length` bytes of `buffer` (all of them by default) at file `offset`; completes
    /// with the bytes written.
    public static func write(
        loop: EventLoop, descriptor: Int32, buffer: ByteBuffer, length: Int? = nil, offset: Int64,
        completion: @escaping (Result<Int, UVError>) -> Void
    ) {
        let length = length ?? buffer.count
        precondition(length <= buffer.count, "write of \(length) bytes from a buffer of \(buffer.count)")
        var uvBuffer = uv_buf_init(buffer.pointer.assumingMemoryBound(to: CChar.self), UInt32(length))
        submit(
            loop, "write", { req, cb in uv_fs_write(loop.raw, req, descriptor, &uvBuffer, 1, offset, cb) },
            keepAlive: buffer
        ) { req in
            completion(result(req, "write"))
        }
    }

    public static func fsync(loop: EventLoop, descriptor: Int32, completion: @escaping (UVError?) -> Void) {
        submit(loop, "fsync", { req, cb in uv_fs_fsync(loop.raw, req, descriptor, cb) }) { req in
            completion(failure(req, "fsync"))
        }
    }

    /// Flushes the file's data and the metadata needed to read it back (its size), not its timestamps.
    public static func fdatasync(loop: EventLoop, descriptor: Int32, completion: @escaping (UVError?) -> Void) {
        submit(loop, "fdatasync", { req, cb in uv_fs_fdatasync(loop.raw, req, descriptor, cb) }) { req in
            completion(failure(req, "fdatasync"))
        }
    }

    public static func truncate(
        loop: EventLoop, descriptor: Int32, length: Int64, completion: @escaping (UVError?) -> Void
    ) {
        submit(loop, "ftruncate", { req, cb in uv_fs_ftruncate(loop.raw, req, descriptor, length, cb) }) { req in
            completion(failure(req, "ftruncate"))
        }
    }

    public static func rename(loop: EventLoop, from: String, to: String, completion: @escaping (UVError?) -> Void) {
        submit(loop, "rename \(from)", { req, cb in uv_fs_rename(loop.raw, req, from, to, cb) }) { req in
            completion(failure(req, "rename \(from) -> \(to)"))
        }
    }

    public static func unlink(loop: EventLoop, path: String, completion: @escaping (UVError?) -> Void) {
        submit(loop, "unlink \(path)", { req, cb in uv_fs_unlink(loop.raw, req, path, cb) }) { req in
            completion(failure(req, "unlink \(path)"))
        }
    }

    public static func mkdir(
        loop: EventLoop, path: String, mode: Int32 = 0o755, completion: @escaping (UVError?) -> Void
    ) {
        submit(loop, "mkdir \(path)", { req, cb in uv_fs_mkdir(loop.raw, req, path, mode, cb) }) { req in
            completion(failure(req, "mkdir \(path)"))
        }
    }

    public static func stat(loop: EventLoop, path: String, completion: @escaping (Result<Status, UVError>) -> Void) {
        submit(loop, "stat \(path)", { req, cb in uv_fs_stat(loop.raw, req, path, cb) }) { req in
            completion(
                result(req, "stat \(path)").map { _ in
                    let s = req.pointee.statbuf
                    let type = Int32(s.st_mode) & S_IFMT
                    return Status(
                        size: s.st_size, isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG,
                        modifiedSecondsSinceEpoch: Int64(s.st_mtim.tv_sec))
                })
        }
    }

    public static func diskSpace(
        loop: EventLoop, path: String, completion: @escaping (Result<DiskSpace, UVError>) -> Void
    ) {
        submit(loop, "statfs \(path)", { req, cb in uv_fs_statfs(loop.raw, req, path, cb) }) { req in
            completion(
                result(req, "statfs \(path)").map { _ in
                    let s = req.pointee.ptr.assumingMemoryBound(to: uv_statfs_t.self).pointee
                    return DiskSpace(availableBytes: s.f_bavail * s.f_bsize, totalBytes: s.f_blocks * s.f_bsize)
                })
        }
    }

    // MARK: The request box

    private static func result(_ req: UnsafeMutablePointer<uv_fs_t>, _ operation: String) -> Result<Int, UVError> {
        let r = req.pointee.result
        return r < 0 ? .failure(UVError(code: Int32(r), operation: operation)) : .success(r)
    }

    private static func failure(_ req: UnsafeMutablePointer<uv_fs_t>, _ operation: String) -> UVError? {
        if case .failure(let e) = result(req, operation) { return e }
        return nil
    }

    private static func submit(
        _ loop: EventLoop, _ operation: String,
        _ start: (UnsafeMutablePointer<uv_fs_t>, @escaping uv_fs_cb) -> Int32,
        keepAlive: ByteBuffer? = nil, done: @escaping (UnsafeMutablePointer<uv_fs_t>) -> Void
    ) {
        loop.assertInLoopThread()
        let request = FSRequest(done: done, keepAlive: keepAlive)
        let rc = start(request.request) { req in
            let request = Unmanaged<FSRequest>.fromOpaque(req!.pointee.data).takeRetainedValue()
            request.done(req!)
            uv_fs_req_cleanup(req)
        }
        if rc < 0 {
            // Submission failed: libuv will not call back. Report through the same completion path.
            request.request.pointee.result = Int(rc)
            Unmanaged.passUnretained(request).release()
            request.done(request.request)
        }
    }
}

private final class FSRequest {
    let request = UnsafeMutablePointer<uv_fs_t>.allocate(capacity: 1)
    let done: (UnsafeMutablePointer<uv_fs_t>) -> Void
    /// The buffer a read or write uses, held until the callback.
    let keepAlive: ByteBuffer?

    init(done: @escaping (UnsafeMutablePointer<uv_fs_t>) -> Void, keepAlive: ByteBuffer?) {
        self.done = done
        self.keepAlive = keepAlive
        request.initialize(to: uv_fs_t())
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    deinit { request.deallocate() }
}
