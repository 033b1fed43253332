import CUV

/// The base of every libuv handle wrapper. Loop-bound: create, use and close on the loop thread.
///
/// Lifecycle (the contract every subclass keeps):
/// - the wrapper owns the `uv_*_t` memory; after a successful `uv_*_init` the subclass calls
///   `didInitialize()`, which stores a retained reference to the wrapper in `handle.data`;
/// - C callbacks recover the wrapper from `data` without capturing context;
/// - `close()` is idempotent; the memory is freed and the retain released only in the close callback,
///   after libuv is done with the handle;
/// - `deinit` asserts that an initialized handle was closed.
public class LoopHandle {
    public let label: String
    unowned let loop: EventLoop
    let raw: UnsafeMutableRawPointer
    private var initialized = false
    public private(set) var isClosing = false
    public private(set) var isClosed = false
    private var closeCallbacks: [() -> Void] = []

    init(loop: EventLoop, type: uv_handle_type, label: String) {
        loop.assertInLoopThread()
        self.loop = loop
        self.label = label
        self.raw = UnsafeMutableRawPointer.allocate(byteCount: uv_handle_size(type), alignment: 16)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: uv_handle_size(type))
    }

    var handle: UnsafeMutablePointer<uv_handle_t> { raw.assumingMemoryBound(to: uv_handle_t.self) }

    func didInitialize() {
        initialized = true
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Recovers the wrapper inside a C callback.
    static func from<T: LoopHandle>(_ h: UnsafeMutableRawPointer?, as type: T.Type) -> T {
        let handle = h!.assumingMemoryBound(to: uv_handle_t.self)
        return Unmanaged<LoopHandle>.fromOpaque(handle.pointee.data).takeUnretainedValue() as! T
    }

    /// Closes the handle; `then` runs once libuv has released it. Safe to call more than once.
    public func close(then: (() -> Void)? = nil) {
        if let then {
            if isClosed { then() } else { closeCallbacks.append(then) }
        }
        guard !isClosing else { return }
        isClosing = true
        willClose()
        guard initialized else {
            finishClose()
            return
        }
        uv_close(handle) { h in
            let wrapper = Unmanaged<LoopHandle>.fromOpaque(h!.pointee.data)
            wrapper.takeUnretainedValue().finishClose()
            wrapper.release()
        }
    }

    private func finishClose() {
        isClosed = true
        didClose()
        let callbacks = closeCallbacks
        closeCallbacks = []
        for callback in callbacks { callback() }
    }

    /// Hook: called at the start of `close()`, before libuv is told (stop timers, fail pending work).
    func willClose() {}

    /// Hook: called when the handle is fully closed; subclasses drop their callbacks here to break cycles.
    func didClose() {}

    /// A handle that is unreferenced does not keep `EventLoop.run()` alive by itself.
    public func unref() {
        if initialized && !isClosing { uv_unref(handle) }
    }

    public func ref() {
        if initialized && !isClosing { uv_ref(handle) }
    }

    deinit {
        assert(!initialized || isClosed, "\(label): the handle was released without close(): a leak")
        raw.deallocate()
    }
}
