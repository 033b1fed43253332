#if canImport(Glibc)
import Glibc
#endif

/// A POSIX thread running `body` (the chaos clients' event loop, beside the nemesis on the calling
/// thread); `join` waits for it to end.
final class BackgroundThread {
    private var thread = pthread_t()

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { arg in
                Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue().run()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create: \(rc)")
    }

    func join() {
        pthread_join(thread, nil)
    }
}
