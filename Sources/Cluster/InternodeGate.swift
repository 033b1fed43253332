import Core
import HTTP

/// Admits a node's internal requests: signed with the cluster key, within the clock window, since this
/// node started, with a nonce never seen before; each admitted request's body is then checked against
/// its tag as it arrives. Every refusal is logged once, with why and from where. Loop-bound.
public final class InternodeGate {
    public let key: ClusterKey
    let log: Logger?
    private var replays: ReplayWindows
    private var lastSweep: Instant?
    /// When this node started: the replay windows hold nothing from before it.
    let startedAt: WallTime

    public init(key: ClusterKey, log: Logger?, startedAt: WallTime = .now()) {
        self.key = key
        self.log = log
        self.startedAt = startedAt
        replays = ReplayWindows(clockSkewMax: key.clockSkewMax)
    }

    /// The caller of an authentic, new request (its body is checked as it arrives), or why it is refused.
    public func admit(
        _ request: HTTPServerRequest, now: WallTime = .now(), at instant: Instant
    )
        -> Result<String, ClusterKey.Rejection>
    {
        switch verify(request, now: now, at: instant) {
        case .failure(let rejection):
            refused(request, rejection.description)
            return .failure(rejection)
        case .success(let verified):
            verified.bodyCheck.onRefused = { [weak self, weak request] why in
                if let request { self?.refused(request, why) }
            }
            request.bodyCheck = verified.bodyCheck
            return .success(verified.caller)
        }
    }

    private func refused(_ request: HTTPServerRequest, _ why: String) {
        log?.warn(
            "refused an internal request",
            [
                ("path", .string(String(request.head.path))), ("reason", .string(why)),
                ("caller", .string(request.head.headers[ClusterKey.callerHeader] ?? "")),
                ("from", .string(request.remoteAddress.map { "\($0)" } ?? "")),
            ])
    }

    private func verify(
        _ request: HTTPServerRequest, now: WallTime, at instant: Instant
    )
        -> Result<ClusterKey.Verified, ClusterKey.Rejection>
    {
        let verified: ClusterKey.Verified
        switch key.verify(request.head, now: now, notBefore: startedAt) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let v): verified = v
        }
        // Idle sessions go about once a minute (each devcluster command leaves one behind).
        if lastSweep.map({ instant.since($0) >= .seconds(60) }) ?? true {
            lastSweep = instant
            replays.forgetIdle(now: instant)
        }
        if let rejection = replays.admit(caller: verified.caller, verified.nonce, now: instant) {
            return .failure(rejection)
        }
        return .success(verified)
    }
}
