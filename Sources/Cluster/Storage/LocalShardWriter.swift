import Core
import Loop
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Writes a staged shard file with direct I/O: frames are copied into one aligned buffer and written
/// to the device in chunks of `chunk` bytes, bypassing the page cache. Buffered writes of a growing
/// object cost the kernel a fresh page-cache page per 4 KiB, which measured 2-3x the CPU of direct
/// writes (docs/BENCHMARKS.md); the written shards are rarely read back soon, so caching them buys
/// little. On a file system without `O_DIRECT` (tmpfs) the same code writes through the page cache.
///
/// The last write is padded to the alignment and the file truncated back to its true length before
/// the `fdatasync` that makes it durable. One write in flight at a time; frames are accepted (their
/// `done` called) as they are copied, so the caller's back-pressure is this buffer filling up.
final class LocalShardWriter: ShardWriter {
    /// Bytes per device write; the buffer holds two, so a whole frame (up to 1 MiB + 8) always fits.
    static let chunk = 1 << 20

    let store: LocalStore
    let uploadID: String
    private var path: String?
    private var descriptor: Int32?
    private var direct = true
    private let pending = ByteBuffer(capacity: 2 * chunk, alignment: FileSystem.directIOAlignment)
    /// File offset of `pending`'s first byte (always aligned with direct I/O).
    private var written: Int64 = 0
    private var queued: [(frame: ByteBuffer, taken: Int, done: (StoreError?) -> Void)] = []
    private var writing = false
    private var failure: StoreError?
    private var finishing: ((Result<Void, StoreError>) -> Void)?
    /// The last write, truncate and sync are under way.
    private var sealing = false

    init(store: LocalStore, uploadID: String, part: Int) {
        self.store = store
        self.uploadID = uploadID
        store.run({ disk throws(StorageError) in try disk.beginStaging(uploadID: uploadID, part: part) }) {
            [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let path):
                self.path = path
                if failure != nil { return abort() }  // aborted while the folder was being made
                open(path)
            }
        }
    }

    private func open(_ path: String) {
        let flags = O_WRONLY | O_CREAT | O_TRUNC | (direct ? FileSystem.directIOFlag : 0)
        FileSystem.open(loop: store.loop, path: path, flags: flags) { [self] r in
            switch r {
            case .failure(let e) where e.isInvalidArgument && direct:
                direct = false
                open(path)
            case .failure(let e): fail(storeError(e, path: path))
            case .success(let fd):
                if failure != nil { return FileSystem.close(loop: store.loop, descriptor: fd) { _ in } }
                descriptor = fd
                pump()
            }
        }
    }

    func write(_ frame: ByteBuffer, _ done: @escaping (StoreError?) -> Void) {
        if let failure { return done(failure) }
        queued.append((frame, 0, done))
        pump()
    }

    func finish(_ done: @escaping (Result<Void, StoreError>) -> Void) {
        if let failure { return done(.failure(failure)) }
        finishing = done
        pump()
    }

    /// Copies queued frames into the buffer, then writes a chunk when one is full, or the rest once
    /// every frame is in and `finish` was called.
    private func pump() {
        guard !writing, !sealing, let fd = descriptor, failure == nil else { return }
        var accepted: [(StoreError?) -> Void] = []
        while pending.count < Self.chunk, !queued.isEmpty {
            let head = queued[0]
            let taken = pending.append(UnsafeRawBufferPointer(rebasing: head.frame.bytes[head.taken...]))
            if head.taken + taken < head.frame.count {
                queued[0].taken += taken
                break
            }
            queued.removeFirst()
            accepted.append(head.done)
        }
        if pending.count >= Self.chunk {
            let alignment = direct ? FileSystem.directIOAlignment : 1
            writeOut(fd, length: pending.count / alignment * alignment) { [self] in pump() }
        } else if queued.isEmpty, finishing != nil {
            seal(fd)
        }
        // Last: a caller may write its next frame from `done`, re-entering `pump`.
        for done in accepted { done(nil) }
    }

    private func writeOut(_ fd: Int32, length: Int, then: @escaping () -> Void) {
        guard length > 0 else { return then() }
        writing = true
        FileSystem.write(loop: store.loop, descriptor: fd, buffer: pending, length: length, offset: written) {
            [self] result in
            writing = false
            guard failure == nil else { return closeDescriptor() }  // aborted meanwhile
            switch result {
            case .failure(let e): fail(storeError(e, path: path ?? uploadID))
            case .success(let n) where n != length:
                fail(.failed("short write to \(path ?? uploadID): \(n) of \(length) bytes"))
            case .success(let n):
                written += Int64(n)
                pending.removeFirst(n)
                then()
            }
        }
    }

    /// Pads the tail to the alignment, writes it, truncates the padding away and syncs.
    private func seal(_ fd: Int32) {
        sealing = true
        let size = written + Int64(pending.count)
        let alignment = FileSystem.directIOAlignment
        if direct { pending.appendZeros((alignment - pending.count % alignment) % alignment) }
        writeOut(fd, length: pending.count) { [self] in
            FileSystem.truncate(loop: store.loop, descriptor: fd, length: size) { [self] error in
                if let error { return fail(storeError(error, path: path ?? uploadID)) }
                FileSystem.fdatasync(loop: store.loop, descriptor: fd) { [self] error in
                    if let error { return fail(storeError(error, path: path ?? uploadID)) }
                    closeDescriptor()
                    let done = finishing
                    finishing = nil
                    done?(.success(()))
                }
            }
        }
    }

    /// Fails every waiting frame and `finish`, and drops the staged file.
    private func fail(_ error: StoreError) {
        guard failure == nil else { return }
        failure = error
        let waiting = queued
        queued = []
        for entry in waiting { entry.done(error) }
        if let finishing {
            self.finishing = nil
            finishing(.failure(error))
        }
        abort()
    }

    func abort() {
        if failure == nil { failure = .failed("aborted") }
        if !writing { closeDescriptor() }  // else when the write in flight completes: the fd stays ours till then
        store.abortStaging(uploadID: uploadID)
    }

    private func closeDescriptor() {
        guard let fd = descriptor else { return }
        descriptor = nil
        FileSystem.close(loop: store.loop, descriptor: fd) { _ in }
    }
}

extension LocalShardWriter {
    /// Writes a whole shard file at once on the calling pool thread (a one-block object's shard, which
    /// comes with its commit), as the streamed writer does: direct I/O where the file system has it, the
    /// tail padded to the alignment and truncated back, then synced. A shard that does not start at an
    /// aligned address with room for the padding (as `shardBuffer` makes them) is copied first.
    static func writeWhole(_ path: String, _ shard: ByteBuffer) throws(StorageError) {
        func failure(_ operation: String) -> StorageError {
            let e = errno
            return e == ENOSPC || e == EDQUOT ? .diskFull(path: path) : .io(path: path, errno: e, operation: operation)
        }
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        var direct = true
        var fd = Glibc.open(path, flags | FileSystem.directIOFlag, 0o644)
        if fd < 0 && errno == EINVAL {
            direct = false
            fd = Glibc.open(path, flags, 0o644)
        }
        guard fd >= 0 else { throw failure("create") }
        defer { Glibc.close(fd) }
        let size = shard.count
        var out = shard
        if direct {
            let padded = alignedCapacity(size)
            if Int(bitPattern: shard.bytes.baseAddress) % FileSystem.directIOAlignment != 0 || shard.capacity < padded {
                out = aligned(shard.bytes)
            }
            out.appendZeros(padded - size)
        }
        // The padding goes again (only a buffer of our own was padded in place).
        defer { if out === shard { shard.setCount(size) } }
        var offset = 0
        while offset < out.count {
            let n = pwrite(fd, out.bytes.baseAddress! + offset, out.count - offset, off_t(offset))
            if n < 0 && errno == EINTR { continue }
            if n == 0 { throw .io(path: path, errno: EIO, operation: "write (nothing written)") }
            guard n > 0 else { throw failure("write") }
            offset += n
        }
        if direct && ftruncate(fd, off_t(size)) != 0 { throw failure("truncate") }
        if fdatasync(fd) != 0 { throw failure("fdatasync") }
    }

    /// A buffer for a shard of `bytes` that `writeWhole` writes as it is (aligned, with room for the
    /// padding).
    static func shardBuffer(for bytes: Int) -> ByteBuffer {
        ByteBuffer(capacity: alignedCapacity(bytes), alignment: FileSystem.directIOAlignment)
    }

    private static func aligned(_ bytes: UnsafeRawBufferPointer) -> ByteBuffer {
        let buffer = shardBuffer(for: bytes.count)
        _ = buffer.append(bytes)
        return buffer
    }

    private static func alignedCapacity(_ bytes: Int) -> Int {
        let alignment = FileSystem.directIOAlignment
        return (bytes + alignment - 1) / alignment * alignment
    }
}
