import Core
import Synchronization
import Testing

@testable import Loop

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a fresh loop, runs the loop until idle (bounded by a watchdog), then closes it and
/// checks that nothing leaked.
func withLoop(seconds: Int = 10, _ body: (EventLoop) throws -> Void) throws {
    let loop = try EventLoop()
    let watchdog = try Timer(loop: loop, label: "watchdog")
    watchdog.unref()
    watchdog.start(after: .seconds(seconds)) {
        Issue.record("the loop did not go idle within \(seconds)s")
        loop.stop()
    }
    try body(loop)
    loop.run()
    watchdog.close()
    let leaked = loop.close()
    #expect(leaked == [], "handles left open: \(leaked)")
}

@Suite("event loop")
struct EventLoopTests {
    @Test("a timer fires once after its delay, and a closed loop reports no leaks")
    func timerFires() throws {
        var fired = 0
        try withLoop { loop in
            let start = loop.now
            let timer = try Timer(loop: loop)
            timer.start(after: .milliseconds(20)) {
                fired += 1
                #expect(loop.now.since(start) >= .milliseconds(19))
                timer.close()
            }
        }
        #expect(fired == 1)
    }

    @Test("a repeating timer fires until stopped")
    func repeatingTimer() throws {
        var fired = 0
        try withLoop { loop in
            let timer = try Timer(loop: loop)
            timer.start(after: .milliseconds(1), repeating: .milliseconds(1)) {
                fired += 1
                if fired == 5 { timer.close() }
            }
        }
        #expect(fired == 5)
    }

    @Test("close() names every handle the caller forgot to close")
    func leakReport() throws {
        let loop = try EventLoop()
        let timer = try Timer(loop: loop, label: "forgotten timer")
        timer.start(after: .seconds(60)) {}
        let leaked = loop.close()
        #expect(leaked == ["forgotten timer"])
        #expect(timer.isClosed)
    }

    @Test("work from other threads runs on the loop thread, in order")
    func remoteExecute() throws {
        var seen: [Int] = []
        try withLoop { loop in
            let remote = loop.remote
            let keepAlive = try Timer(loop: loop)
            keepAlive.start(after: .seconds(5)) {}
            let loopThread = pthread_self()
            let thread = Thread {
                for i in 0..<100 {
                    remote.execute {
                        // Runs on the loop thread, so mutating loop-owned state is safe.
                        MainActorFree.check(loopThread)
                        MainActorFree.append(i)
                    }
                }
                remote.execute { MainActorFree.done() }
            }
            MainActorFree.onDone = {
                seen = MainActorFree.values
                keepAlive.close()
            }
            thread.start()
        }
        #expect(seen == Array(0..<100))
    }

    @Test("after close, remote execute refuses instead of touching freed memory")
    func remoteAfterClose() throws {
        let loop = try EventLoop()
        let remote = loop.remote
        loop.close()
        #expect(remote.execute {} == false)
    }
}

/// Loop-thread-only state for `remoteExecute` (closures sent across threads cannot capture locals).
enum MainActorFree {
    nonisolated(unsafe) static var values: [Int] = []
    nonisolated(unsafe) static var onDone: (() -> Void)?
    static func append(_ i: Int) { values.append(i) }
    static func check(_ thread: pthread_t) { precondition(pthread_equal(pthread_self(), thread) != 0) }
    static func done() { onDone?() }
}

/// A minimal pthread wrapper for tests that need a second thread.
final class Thread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var thread: pthread_t = 0

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { arg in
                let me = Unmanaged<Thread>.fromOpaque(arg!).takeRetainedValue()
                me.body()
                return nil
            }, box)
        pthread_detach(thread)
    }
}

@Suite("thread-pool work")
struct WorkQueueTests {
    @Test("jobs run off the loop thread and complete on it, never more than inFlightMax at once")
    func capsInFlight() throws {
        let running = Mutex((now: 0, max: 0))
        var completed = 0
        try withLoop { loop in
            let queue = WorkQueue(loop: loop, label: "test", limits: .init(inFlightMax: 2, queuedMax: 10))
            for i in 0..<8 {
                try queue.submit({ () -> Int in
                    running.withLock {
                        $0.now += 1
                        $0.max = max($0.max, $0.now)
                    }
                    usleep(5000)
                    running.withLock { $0.now -= 1 }
                    return i * 2
                }) { result in
                    #expect(try! result.get() == i * 2)
                    completed += 1
                }
            }
            #expect(queue.inFlight == 2)
            #expect(queue.queued == 6)
        }
        #expect(completed == 8)
        #expect((1...2).contains(running.withLock { $0.max }))
    }

    @Test("a full queue refuses with a typed error and runs nothing extra")
    func queueFull() throws {
        var completed = 0
        try withLoop { loop in
            let queue = WorkQueue(loop: loop, label: "tiny", limits: .init(inFlightMax: 1, queuedMax: 1))
            try queue.submit({
                usleep(2000)
                return 1
            }) { _ in completed += 1 }
            try queue.submit({ 2 }) { _ in completed += 1 }
            #expect(throws: WorkQueue.Failure.queueFull(label: "tiny", queuedMax: 1)) {
                try queue.submit({ 3 }) { _ in completed += 1 }
            }
        }
        #expect(completed == 2)
    }
}
