import Core
import HTTP

/// Authenticates requests under the internal prefix (`/_dc/v1/`) between nodes and from `devcluster`.
///
/// The key is derived from the root credentials, so every node of a deployment has it and nothing else
/// needs distributing. A request carries the caller's name, the time, and an HMAC-SHA256 over method,
/// target, caller and time (not the body, which may be a large stream; the cluster runs on trusted
/// networks and the signature stops accidental and unauthenticated use). Requests further than
/// `clockSkewMax` from our clock are refused, which bounds a replay of a captured request to that
/// window; it does not prevent one inside it (that would take a nonce cache, see docs/NOTES.md).
public struct ClusterKey: Sendable {
    public static let callerHeader = "X-Dc-Caller"
    public static let timeHeader = "X-Dc-Time"
    public static let signatureHeader = "X-Dc-Signature"
    public static let clockSkewMax: Duration = .seconds(15 * 60)

    private let key: [UInt8]

    public init(accessKey: String, secretKey: String) {
        key = Crypto.hmacSHA256(key: Array(secretKey.utf8), data: Array("devcluster-internode-v1\n\(accessKey)".utf8))
    }

    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case unsigned
        case clockSkew(Duration)
        case badSignature

        public var description: String {
            switch self {
            case .unsigned:
                "internal endpoint: the request must be signed with the cluster key (use devcluster, or another node)"
            case .clockSkew(let skew):
                "internal endpoint: the request time is \(DurationText.format(skew)) away from this node's clock (more than 15m)"
            case .badSignature:
                "internal endpoint: bad signature: the caller's credentials differ from this node's"
            }
        }
    }

    public func signature(method: String, target: String, caller: String, time: WallTime) -> String {
        let text = "\(method)\n\(target)\n\(caller)\n\(time.millisecondsSinceEpoch)"
        return Crypto.hmacSHA256(key: key, data: Array(text.utf8)).hexString
    }

    /// The headers that authenticate a request from `caller`.
    public func sign(method: String, target: String, caller: String, time: WallTime = .now()) -> HTTPHeaders {
        [
            ClusterKey.callerHeader: caller, ClusterKey.timeHeader: String(time.millisecondsSinceEpoch),
            ClusterKey.signatureHeader: signature(method: method, target: target, caller: caller, time: time),
        ]
    }

    /// The caller's name when the request is authentic.
    public func verify(_ head: HTTPRequestHead, now: WallTime = .now()) -> Result<String, Rejection> {
        guard let caller = head.headers[ClusterKey.callerHeader], let timeText = head.headers[ClusterKey.timeHeader],
            let given = head.headers[ClusterKey.signatureHeader], let ms = Int64(timeText)
        else { return .failure(.unsigned) }
        // Hostile times must not overflow: anything beyond a day away is simply too far.
        let (difference, overflow) = ms.subtractingReportingOverflow(now.millisecondsSinceEpoch)
        let skew: Duration =
            overflow || difference.magnitude > 86_400_000
            ? .seconds(86_400) : .milliseconds(Int64(difference.magnitude))
        guard skew <= ClusterKey.clockSkewMax else { return .failure(.clockSkew(skew)) }
        let expected = signature(
            method: head.method, target: head.target, caller: caller, time: WallTime(millisecondsSinceEpoch: ms))
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array(given.lowercased().utf8)) else {
            return .failure(.badSignature)
        }
        return .success(caller)
    }
}
