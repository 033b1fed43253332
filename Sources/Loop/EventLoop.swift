import CUV
import Core
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Owns one `uv_loop_t`. Loop-bound: everything except `remote` must be used on the thread that created
/// the loop, which is also the thread that runs it.
///
/// Other threads have exactly one door in (`remote.execute`, over `uv_async_send`); blocking work has
/// exactly one door out (`WorkQueue.submit`, over `uv_queue_work`).
public final class EventLoop {
    let raw: UnsafeMutablePointer<uv_loop_t>
    private let ownerThread = pthread_self()
    private let inbox: Inbox
    private var wake: Wake!
    /// One read buffer for every stream: libuv calls alloc_cb and read_cb back to back for one stream
    /// at a time, and readers consume (or copy) the bytes inside read_cb.
    let readBuffer: UnsafeMutableRawPointer
    public static let readBufferBytes = 64 * 1024

    /// The buffer every read on this loop lands in, for a stream layered on another (TLS) to decode into
    /// once it has taken the bytes it was handed: valid only until the current callback returns.
    public var readScratch: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: readBuffer, count: EventLoop.readBufferBytes)
    }
    private var isClosed = false

    public init() throws(UVError) {
        Process.ignoreBrokenPipe()
        raw = .allocate(capacity: 1)
        readBuffer = .allocate(byteCount: EventLoop.readBufferBytes, alignment: 64)
        inbox = Inbox()
        do {
            try UV.check(uv_loop_init(raw), "uv_loop_init")
        } catch {
            raw.deallocate()
            readBuffer.deallocate()
            throw error
        }
        raw.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        do {
            wake = try Wake(loop: self, inbox: inbox)
        } catch {
            uv_loop_close(raw)
            raw.deallocate()
            readBuffer.deallocate()
            isClosed = true
            throw error
        }
        wake.unref()  // the wake-up handle alone must not keep run() from returning
    }

    static func from(_ loop: UnsafeMutablePointer<uv_loop_t>?) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop!.pointee.data).takeUnretainedValue()
    }

    /// Runs until `stop()` is called or nothing is left to do (no active, referenced handles or requests).
    public func run() {
        assertInLoopThread()
        uv_run(raw, UV_RUN_DEFAULT)
    }

    /// Makes `run()` return after the current iteration.
    public func stop() {
        uv_stop(raw)
    }

    /// The monotonic time now (not the loop's cached iteration time, which lags by one iteration).
    public var now: Instant { Instant(nanoseconds: uv_hrtime()) }

    /// The time this loop iteration started, in milliseconds: free to read (no system call), for
    /// timeouts that need no finer resolution. On the same clock as `now`, give or take a millisecond.
    public var iterationTime: Instant { Instant(nanoseconds: uv_now(raw) &* 1_000_000) }

    /// A handle other threads may hold to run code on this loop.
    public var remote: Remote { Remote(inbox: inbox) }

    /// Runs `work` on the loop thread during the next iteration (from the loop thread itself; other
    /// threads use `remote`).
    public func execute(_ work: @escaping () -> Void) {
        assertInLoopThread()
        precondition(!isClosed, "execute on a closed loop")
        inbox.enqueueLocal(work)
        uv_async_send(wake.async)
    }

    func assertInLoopThread(_ file: StaticString = #fileID, _ line: UInt = #line) {
        assert(
            pthread_equal(pthread_self(), ownerThread) != 0, "loop-bound object used off its loop thread", file: file,
            line: line)
    }

    /// Closes every handle still open, runs their close callbacks and closes the loop. Returns the labels
    /// of the handles it had to close: anything other than an empty list is a leak in the caller.
    @discardableResult
    public func close() -> [String] {
        assertInLoopThread()
        precondition(!isClosed, "EventLoop.close() called twice")
        isClosed = true
        inbox.close()
        wake.close()
        var leaked: [String] = []
        var open: [UnsafeMutablePointer<uv_handle_t>] = []
        withUnsafeMutablePointer(to: &open) { list in
            uv_walk(
                raw,
                { h, arg in
                    let list = arg!.assumingMemoryBound(to: [UnsafeMutablePointer<uv_handle_t>].self)
                    if uv_is_closing(h) == 0 { list.pointee.append(h!) }
                }, list)
        }
        for h in open {
            if let data = h.pointee.data {
                let wrapper = Unmanaged<LoopHandle>.fromOpaque(data).takeUnretainedValue()
                leaked.append(wrapper.label)
                wrapper.close()
            } else {
                leaked.append(String(cString: uv_handle_type_name(h.pointee.type)))
                uv_close(h, nil)
            }
        }
        // Run until every close callback (and cancelled request callback) has fired.
        uv_run(raw, UV_RUN_DEFAULT)
        let rc = uv_loop_close(raw)
        precondition(rc == 0, "uv_loop_close: \(String(cString: uv_strerror(rc))) after closing every handle")
        raw.deallocate()
        readBuffer.deallocate()
        return leaked
    }

    deinit {
        assert(isClosed, "EventLoop released without close()")
    }

    /// The Sendable face of a loop for other threads.
    public struct Remote: Sendable {
        fileprivate let inbox: Inbox

        /// Queues `work` for the loop thread. Returns false when the loop has closed (the work is dropped).
        @discardableResult
        public func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
            inbox.enqueueRemote(work)
        }
    }
}

/// Work queued for the loop thread, guarded by a mutex because other threads append to it.
final class Inbox: Sendable {
    private struct State {
        var jobs: [() -> Void] = []
        var closed = false
        var async: UnsafeMutablePointer<uv_async_t>?
    }

    // The jobs array holds closures from the loop thread too (not Sendable); they are only ever run on the
    // loop thread, so the box is unchecked.
    private struct Box: @unchecked Sendable { var state = State() }
    private let state = Mutex(Box())

    func attach(_ async: UnsafeMutablePointer<uv_async_t>) {
        state.withLock { $0.state.async = async }
    }

    func enqueueLocal(_ job: @escaping () -> Void) {
        state.withLock { $0.state.jobs.append(job) }
    }

    func enqueueRemote(_ job: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { box in
            guard !box.state.closed, let async = box.state.async else { return false }
            box.state.jobs.append(job)
            // Sent under the lock: close() flips `closed` under the same lock before the handle is freed.
            uv_async_send(async)
            return true
        }
    }

    func drain() -> [() -> Void] {
        state.withLock { box in
            let jobs = box.state.jobs
            box.state.jobs = []
            return jobs
        }
    }

    func close() {
        state.withLock { box in
            box.state.closed = true
            box.state.async = nil
            box.state.jobs = []
        }
    }
}

/// The uv_async_t behind `execute`: each wake-up drains the whole inbox (libuv coalesces sends).
final class Wake: LoopHandle {
    private let inbox: Inbox

    init(loop: EventLoop, inbox: Inbox) throws(UVError) {
        self.inbox = inbox
        super.init(loop: loop, type: UV_ASYNC, label: "loop wake-up (uv_async_t)")
        try UV.check(
            uv_async_init(loop.raw, async) { a in
                let wake = LoopHandle.from(a, as: Wake.self)
                for job in wake.inbox.drain() { job() }
            }, "uv_async_init")
        didInitialize()
        inbox.attach(async)
    }

    var async: UnsafeMutablePointer<uv_async_t> { raw.assumingMemoryBound(to: uv_async_t.self) }
}

/// Process-wide settings every devcluster process needs.
public enum Process {
    /// libuv does not ignore SIGPIPE, and a peer that resets a connection mid-write would otherwise kill
    /// the process (exit 141). Idempotent.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Keeps the allocator from hoarding freed block buffers. By default glibc raises its mmap
    /// threshold after the first large free, so every later 1 MiB buffer comes from an arena and stays
    /// there once freed, and every thread-pool thread gets an arena of its own: a node that moved a few
    /// GiB then sat on 150 MiB. With a fixed threshold, buffers of 256 KiB and more are mapped and
    /// returned on free; two arenas serve the loop and the pool.
    public static func limitAllocatorRetention() {
        mallopt(M_MMAP_THRESHOLD, 256 << 10)
        mallopt(M_ARENA_MAX, 2)
    }

    /// Raises the soft limit on open descriptors to the hard limit (at most `wanted`) and returns the
    /// limit now in force: every connection, peer connection and open file takes one.
    @discardableResult
    public static func raiseOpenFileLimit(wanted: Int = 65_536) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(limit.rlim_cur)
    }
}
