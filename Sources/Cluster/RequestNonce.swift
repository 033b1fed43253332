import Core
import Synchronization

/// A signed internal request's nonce: this process's session (random, drawn at start) and the request's
/// number in it, so no two requests of a deployment share one, and a receiver needs a small window per
/// session to refuse a replay (`ReplayWindows`) instead of remembering every nonce it saw.
public struct RequestNonce: Hashable, Sendable {
    public let session: String
    public let counter: UInt64

    static let sessionHexCharacters = 16
    private static let thisSession = Crypto.randomBytes(sessionHexCharacters / 2).hexString
    private static let issued = Atomic<UInt64>(0)
    private static let sessionsByDestination = Mutex<[String: (session: String, issued: UInt64)]>([:])

    /// The next nonce of this process's own session (for a program that signs few requests).
    public static func next() -> RequestNonce {
        RequestNonce(session: thisSession, counter: issued.add(1, ordering: .relaxed).newValue)
    }

    /// The next nonce of this process's session with `destination` (host:port). A node signs many
    /// requests for each peer, some of them waiting for a connection after they were signed: with a
    /// session per destination, what a peer receives is one sequence, in the order signed but for the
    /// reordering of its own connections, well inside its replay window.
    public static func next(to destination: String) -> RequestNonce {
        sessionsByDestination.withLock { sessions in
            var entry = sessions[destination] ?? (Crypto.randomBytes(sessionHexCharacters / 2).hexString, 0)
            entry.issued += 1
            sessions[destination] = entry
            return RequestNonce(session: entry.session, counter: entry.issued)
        }
    }

    init(session: String, counter: UInt64) {
        self.session = session
        self.counter = counter
    }

    /// `session.counter`, as sent.
    public var text: String { session + "." + String(counter) }

    /// Parses `text`: a session of hex digits and a counter from 1.
    public init?(text: String) {
        guard let dot = text.firstIndex(of: ".") else { return nil }
        let session = text[..<dot]
        guard session.utf8.count == RequestNonce.sessionHexCharacters,
            session.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            let counter = UInt64(text[text.index(after: dot)...]), counter >= 1
        else { return nil }
        self.init(session: String(session), counter: counter)
    }
}

/// The nonces each caller's session has used lately, to refuse a replayed internal request. Per session:
/// the highest counter seen and which of the `windowSize` below it were seen (requests of one sender
/// can arrive a little out of order, over several connections); anything older is refused. A session
/// is forgotten once no request of it can still pass the clock check (twice the skew window after its
/// last request). Pure: the caller gives the time.
public struct ReplayWindows {
    public static let windowSize = 16_384
    /// Sessions tracked at once, at most: every process that calls a node has one (nodes, and each
    /// `devcluster` command); only holders of the cluster key can make them.
    public static let sessionsMax = 8_192
    /// Kept past the last moment a session's request can pass the clock check.
    static let forgetMargin: Duration = .seconds(60)

    struct Window {
        var highest: UInt64
        var seen: [UInt64]
        var lastUsed: Instant
    }

    private var windows: [String: Window] = [:]
    let forgetAfter: Duration

    public init(clockSkewMax: Duration) {
        forgetAfter = clockSkewMax * 2 + ReplayWindows.forgetMargin
    }

    var sessionCount: Int { windows.count }

    /// Records `nonce` from `caller` when it is new; refuses it when seen, or too old to tell.
    public mutating func admit(caller: String, _ nonce: RequestNonce, now: Instant) -> ClusterKey.Rejection? {
        let id = caller + "/" + nonce.session
        guard windows[id] != nil else {
            if windows.count >= ReplayWindows.sessionsMax {
                forgetIdle(now: now)
                // Still full (only holders of the key make sessions): the least recently used goes, so a
                // member that restarts is never refused.
                if windows.count >= ReplayWindows.sessionsMax,
                    let oldest = windows.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key
                {
                    windows[oldest] = nil
                }
            }
            var w = Window(
                highest: nonce.counter, seen: [UInt64](repeating: 0, count: ReplayWindows.windowSize / 64),
                lastUsed: now)
            w.mark(nonce.counter)
            windows[id] = w
            return nil
        }
        // In place: a copy of the window would copy its bitmap on every request.
        return windows[id]!.admit(nonce, now: now)
    }

    /// Drops the sessions no request can still come from.
    public mutating func forgetIdle(now: Instant) {
        windows = windows.filter { now.since($0.value.lastUsed) < forgetAfter }
    }
}

extension ReplayWindows.Window {
    mutating func admit(_ nonce: RequestNonce, now: Instant) -> ClusterKey.Rejection? {
        lastUsed = now
        if nonce.counter > highest {
            advance(to: nonce.counter)
            mark(nonce.counter)
            return nil
        }
        guard highest - nonce.counter < UInt64(ReplayWindows.windowSize), !isMarked(nonce.counter) else {
            return .replayed(nonce: nonce.text)
        }
        mark(nonce.counter)
        return nil
    }

    private func position(_ counter: UInt64) -> (word: Int, bit: UInt64) {
        let slot = Int(counter % UInt64(ReplayWindows.windowSize))
        return (slot / 64, 1 << UInt64(slot % 64))
    }

    func isMarked(_ counter: UInt64) -> Bool {
        let p = position(counter)
        return seen[p.word] & p.bit != 0
    }

    mutating func mark(_ counter: UInt64) {
        let p = position(counter)
        seen[p.word] |= p.bit
    }

    /// Moves the window up to `counter`: the slots of the counters it passes are cleared for reuse.
    mutating func advance(to counter: UInt64) {
        let distance = counter - highest
        if distance >= UInt64(ReplayWindows.windowSize) {
            for i in seen.indices { seen[i] = 0 }
        } else {
            for c in (highest + 1)...counter {
                let p = position(c)
                seen[p.word] &= ~p.bit
            }
        }
        highest = counter
    }
}
