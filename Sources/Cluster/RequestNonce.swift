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

    /// The next nonce of this process.
    public static func next() -> RequestNonce {
        RequestNonce(session: thisSession, counter: issued.add(1, ordering: .relaxed).newValue)
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

    struct Window {
        var highest: UInt64
        var seen: [UInt64]
        var lastUsed: Instant
    }

    private var windows: [String: Window] = [:]
    let forgetAfter: Duration

    public init(clockSkewMax: Duration) {
        forgetAfter = clockSkewMax * 2 + .seconds(60)
    }

    var sessionCount: Int { windows.count }

    /// Records `nonce` from `caller` when it is new; refuses it when seen, or too old to tell.
    public mutating func admit(caller: String, _ nonce: RequestNonce, now: Instant) -> ClusterKey.Rejection? {
        let id = caller + "/" + nonce.session
        guard var w = windows[id] else {
            if windows.count >= ReplayWindows.sessionsMax {
                forgetIdle(now: now)
                guard windows.count < ReplayWindows.sessionsMax else { return .tooManySessions }
            }
            var w = Window(
                highest: nonce.counter, seen: [UInt64](repeating: 0, count: ReplayWindows.windowSize / 64),
                lastUsed: now)
            w.mark(nonce.counter)
            windows[id] = w
            return nil
        }
        defer { windows[id] = w }
        w.lastUsed = now
        if nonce.counter > w.highest {
            w.advance(to: nonce.counter)
            w.mark(nonce.counter)
            return nil
        }
        guard w.highest - nonce.counter < UInt64(ReplayWindows.windowSize), !w.isMarked(nonce.counter) else {
            return .replayed(nonce: nonce.text)
        }
        w.mark(nonce.counter)
        return nil
    }

    /// Drops the sessions no request can still come from.
    public mutating func forgetIdle(now: Instant) {
        windows = windows.filter { now.since($0.value.lastUsed) < forgetAfter }
    }
}

extension ReplayWindows.Window {
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
