import CUV
import Core

/// A libuv timer. Loop-bound. Resolution is one millisecond (libuv's).
public final class Timer: LoopHandle {
    private var callback: (() -> Void)?

    public init(loop: EventLoop, label: String = "timer") throws(UVError) {
        super.init(loop: loop, type: UV_TIMER, label: label)
        try UV.check(uv_timer_init(loop.raw, timer), "uv_timer_init")
        didInitialize()
    }

    private var timer: UnsafeMutablePointer<uv_timer_t> { raw.assumingMemoryBound(to: uv_timer_t.self) }

    /// Fires once after `delay`, then every `repeating` if given. Restarting replaces the schedule.
    public func start(after delay: Duration, repeating: Duration? = nil, _ fire: @escaping () -> Void) {
        precondition(!isClosing, "\(label): start() after close()")
        callback = fire
        // libuv counts from the loop's cached time; refresh it so the delay runs from now.
        uv_update_time(loop.raw)
        let repeatMs = repeating.map { UInt64(max(1, $0.milliseconds)) } ?? 0
        UV.mustSucceed(
            uv_timer_start(
                timer, { t in LoopHandle.from(t, as: Timer.self).callback?() },
                UInt64(max(0, delay.milliseconds)), repeatMs), "uv_timer_start")
    }

    public func stop() {
        guard !isClosing else { return }
        uv_timer_stop(timer)
    }

    override func didClose() {
        callback = nil
    }
}

/// Watches a POSIX signal on the loop (libuv turns the signal into a loop callback). Loop-bound.
public final class SignalWatcher: LoopHandle {
    private var callback: ((Int32) -> Void)?

    public init(loop: EventLoop, label: String = "signal") throws(UVError) {
        super.init(loop: loop, type: UV_SIGNAL, label: label)
        try UV.check(uv_signal_init(loop.raw, signal), "uv_signal_init")
        didInitialize()
    }

    private var signal: UnsafeMutablePointer<uv_signal_t> { raw.assumingMemoryBound(to: uv_signal_t.self) }

    public func start(_ signum: Int32, _ handler: @escaping (Int32) -> Void) throws(UVError) {
        callback = handler
        try UV.check(
            uv_signal_start(
                signal, { s, signum in LoopHandle.from(s, as: SignalWatcher.self).callback?(signum) }, signum),
            "uv_signal_start")
    }

    override func didClose() {
        callback = nil
    }
}

extension Timer {
    /// Runs `body` once after `delay` on `loop`, closing the timer afterwards. Throws when the timer
    /// cannot be made: then `body` never runs, and the caller must not wait for it.
    public static func once(
        _ loop: EventLoop, _ delay: Duration, label: String = "one-shot timer", _ body: @escaping () -> Void
    ) throws(UVError) {
        let timer = try Timer(loop: loop, label: label)
        timer.start(after: delay) {
            timer.close()
            body()
        }
    }
}
