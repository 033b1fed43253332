import Core

/// The timeout decisions of one server connection, as a pure value: the connection records facts
/// (bytes arrived, writes progressed, phase changes) and `check(now:)` says what to do. No clock, no
/// socket, so every edge is unit-tested with a manual clock.
struct ConnectionTimeouts: Equatable {
    enum Phase: Equatable {
        /// Between requests (or before the first): no bytes of a new request yet.
        case idle
        /// Some bytes of a request head have arrived, the head is not complete.
        case readingHead
        /// The head is complete and body bytes are expected; `paused` when we stopped reading on purpose.
        case readingBody(paused: Bool)
        /// The request is read; the handler is working or the response is being written.
        case responding
        /// Closing: reading and discarding for a bounded time so the client sees our response.
        case lingering
    }

    enum Action: Equatable {
        /// Close without a word (an idle keep-alive connection, or linger over).
        case close
        /// Answer 408 if no response was started, then close.
        case requestTimeout(reason: String)
        /// The peer has not taken a byte of our response for the write stall timeout: drop it.
        case dropStalledWriter
    }

    private(set) var phase: Phase = .idle
    private(set) var phaseSince: Instant
    private(set) var lastReadAt: Instant
    private(set) var lastWriteProgressAt: Instant
    private(set) var writesPending = false

    init(now: Instant) {
        phaseSince = now
        lastReadAt = now
        lastWriteProgressAt = now
    }

    mutating func enter(_ phase: Phase, now: Instant) {
        if phase != self.phase { phaseSince = now }
        self.phase = phase
        if case .readingBody(paused: false) = phase { lastReadAt = now }
    }

    mutating func bytesRead(now: Instant) {
        lastReadAt = now
    }

    mutating func writeStarted(now: Instant) {
        if !writesPending { lastWriteProgressAt = now }
        writesPending = true
    }

    mutating func writeProgressed(now: Instant, stillPending: Bool) {
        lastWriteProgressAt = now
        writesPending = stillPending
    }

    func check(now: Instant, limits: HTTPServerLimits) -> Action? {
        if writesPending && now.since(lastWriteProgressAt) >= limits.writeStallTimeout {
            return .dropStalledWriter
        }
        switch phase {
        case .idle:
            return now.since(phaseSince) >= limits.idleTimeout ? .close : nil
        case .readingHead:
            return now.since(phaseSince) >= limits.headerTimeout
                ? .requestTimeout(
                    reason: "the request headers did not arrive within \(DurationText.format(limits.headerTimeout))")
                : nil
        case .readingBody(let paused):
            guard !paused else { return nil }
            return now.since(lastReadAt) >= limits.bodyIdleTimeout
                ? .requestTimeout(reason: "no request body bytes for \(DurationText.format(limits.bodyIdleTimeout))")
                : nil
        case .responding:
            return nil
        case .lingering:
            return now.since(phaseSince) >= limits.lingerTimeout ? .close : nil
        }
    }
}
