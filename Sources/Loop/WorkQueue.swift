import CUV

/// Runs blocking or CPU-heavy work on libuv's thread pool and its completion back on the loop thread,
/// with a cap on jobs in flight (the pool also serves every `uv_fs_*` call, and CPU-bound jobs beyond
/// one per spare core stall the loop) and a cap on jobs waiting. Loop-bound.
public final class WorkQueue {
    public struct Limits: Sendable {
        /// Jobs running on the pool at once.
        public var inFlightMax: Int
        /// Jobs waiting for a slot; past this, `submit` refuses.
        public var queuedMax: Int

        public init(inFlightMax: Int, queuedMax: Int) {
            precondition(inFlightMax >= 1 && queuedMax >= 0, "WorkQueue limits must allow one job")
            self.inFlightMax = inFlightMax
            self.queuedMax = queuedMax
        }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible, Sendable {
        /// The queue is at `queuedMax`: the caller should shed load (S3 `SlowDown`).
        case queueFull(label: String, queuedMax: Int)
        /// The job never ran (the loop is shutting down).
        case cancelled

        public var description: String {
            switch self {
            case .queueFull(let label, let max): "\(label): \(max) jobs already waiting; try again shortly"
            case .cancelled: "the job was cancelled before it ran"
            }
        }
    }

    public let label: String
    public let limits: Limits
    private unowned let loop: EventLoop
    private var waiting: [Job] = []
    public private(set) var inFlight = 0
    public var queued: Int { waiting.count }

    public init(loop: EventLoop, label: String, limits: Limits) {
        self.loop = loop
        self.label = label
        self.limits = limits
    }

    /// Runs `work` on a pool thread, then `done` on the loop thread with its result. Throws `queueFull`
    /// (and runs nothing) when the queue is at capacity.
    public func submit<T: Sendable>(
        _ work: @escaping @Sendable () -> T, then done: @escaping (Result<T, Failure>) -> Void
    ) throws(Failure) {
        loop.assertInLoopThread()
        let job = TypedJob(work: work, done: done)
        if inFlight < limits.inFlightMax {
            start(job)
        } else {
            guard waiting.count < limits.queuedMax else {
                throw .queueFull(label: label, queuedMax: limits.queuedMax)
            }
            waiting.append(job)
        }
    }

    private func start(_ job: Job) {
        inFlight += 1
        job.queue = self
        let request = job.request
        request.pointee.data = Unmanaged.passRetained(job).toOpaque()
        let rc = uv_queue_work(
            loop.raw, request,
            { req in Unmanaged<Job>.fromOpaque(req!.pointee.data).takeUnretainedValue().runOnPool() },
            { req, status in
                let job = Unmanaged<Job>.fromOpaque(req!.pointee.data).takeRetainedValue()
                job.queue?.finished(job, cancelled: status == UV_ECANCELED.rawValue)
            })
        if rc != 0 {
            Unmanaged.passUnretained(job).release()
            finished(job, cancelled: true)
        }
    }

    private func finished(_ job: Job, cancelled: Bool) {
        inFlight -= 1
        job.queue = nil
        job.complete(cancelled: cancelled)
        while inFlight < limits.inFlightMax, !waiting.isEmpty {
            start(waiting.removeFirst())
        }
    }

    /// Fails every waiting job with `cancelled` (running ones finish normally).
    public func cancelWaiting() {
        let jobs = waiting
        waiting = []
        for job in jobs { job.complete(cancelled: true) }
    }
}

/// A `uv_work_t` box. The pool thread touches only `runOnPool` (immutable inputs, its own result slot);
/// everything else happens on the loop thread, before submission and in the after-work callback.
private class Job: @unchecked Sendable {
    let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
    var queue: WorkQueue?

    func runOnPool() {}
    func complete(cancelled: Bool) {}

    deinit { request.deallocate() }
}

private final class TypedJob<T: Sendable>: Job, @unchecked Sendable {
    let work: @Sendable () -> T
    var done: ((Result<T, WorkQueue.Failure>) -> Void)?
    var result: T?

    init(work: @escaping @Sendable () -> T, done: @escaping (Result<T, WorkQueue.Failure>) -> Void) {
        self.work = work
        self.done = done
    }

    override func runOnPool() {
        result = work()
    }

    override func complete(cancelled: Bool) {
        let done = self.done
        self.done = nil
        if let result, !cancelled {
            done?(.success(result))
        } else {
            done?(.failure(.cancelled))
        }
    }
}
