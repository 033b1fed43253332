import Core
import HTTP

/// Authenticates requests under the internal prefix (`/_dc/v1/`) between nodes and from `devcluster`.
///
/// The key is derived from the root credentials, so every node of a deployment has it and nothing else
/// needs distributing. A request carries the caller's name, the time, a nonce (`RequestNonce`: never the
/// same twice from one process) and a tag of its body, and an HMAC-SHA256 over method, target, caller,
/// time, nonce and body tag. The body tag is a Poly1305 MAC under a key derived from the cluster key and
/// the nonce (one key per request, as Poly1305 needs), either given whole in a header (`X-Dc-Body`) or,
/// for a body streamed before its end is known, as the body's last 16 bytes (`X-Dc-Body: trailer`).
/// A receiver refuses a request further than `clockSkewMax` from its clock, or whose nonce it has seen
/// (`ReplayWindows`), and checks the body as it arrives (`BodyTagCheck`): a body changed on the way
/// never reaches a handler whole.
public struct ClusterKey: Sendable {
    public static let callerHeader = "X-Dc-Caller"
    public static let timeHeader = "X-Dc-Time"
    public static let nonceHeader = "X-Dc-Nonce"
    public static let bodyHeader = "X-Dc-Body"
    public static let signatureHeader = "X-Dc-Signature"
    /// `X-Dc-Body` of a streamed body: its tag is its last `Poly1305.tagBytes` bytes.
    public static let trailerTag = "trailer"
    /// What clocks on one network need, as SigV4's window (`cluster.internodeClockSkewMax`).
    public static let clockSkewMaxDefault: Duration = .seconds(5 * 60)

    private let key: [UInt8]
    public let clockSkewMax: Duration

    public init(accessKey: String, secretKey: String, clockSkewMax: Duration = ClusterKey.clockSkewMaxDefault) {
        key = Crypto.hmacSHA256(key: Array(secretKey.utf8), data: Array("devcluster-internode-v2\n\(accessKey)".utf8))
        self.clockSkewMax = clockSkewMax
    }

    public enum Rejection: Error, Equatable, CustomStringConvertible, Sendable {
        case unsigned
        case clockSkew(Duration, max: Duration)
        case badSignature
        case badNonce
        case replayed(nonce: String)
        case signedBeforeStart(Duration)

        public var description: String {
            switch self {
            case .unsigned:
                "internal endpoint: the request must be signed with the cluster key (use devcluster, or another node)"
            case .clockSkew(let skew, let max):
                "internal endpoint: the request time is \(DurationText.format(skew)) away from this node's clock "
                    + "(more than \(DurationText.format(max)))"
            case .badSignature:
                "internal endpoint: bad signature: the caller's credentials differ from this node's"
            case .badNonce:
                "internal endpoint: the request's nonce is malformed"
            case .replayed(let nonce):
                "internal endpoint: the request (nonce \(nonce)) was already received: a replay is refused"
            case .signedBeforeStart(let before):
                "internal endpoint: the request was signed \(DurationText.format(before)) before this node started: "
                    + "what it received before cannot be told apart from a replay, so it is refused (sign it again)"
            }
        }
    }

    /// The key of the body tag of the request with `nonce`.
    func bodyKey(_ nonce: RequestNonce) -> [UInt8] {
        Crypto.hmacSHA256(key: key, data: Array("body\n\(nonce.text)".utf8))
    }

    func signature(
        method: String, target: String, caller: String, time: Int64, nonce: String, body: String
    )
        -> String
    {
        let text = "\(method)\n\(target)\n\(caller)\n\(time)\n\(nonce)\n\(body)"
        return Crypto.hmacSHA256(key: key, data: Array(text.utf8)).hexString
    }

    /// The headers that authenticate a request from `caller` whose whole body is `body` (its nonce from
    /// `RequestNonce.next(to:)` for a program that signs many requests to one node).
    public func sign(
        method: String, target: String, caller: String, body: some ContiguousBytes = [UInt8](),
        time: WallTime = .now(), nonce: RequestNonce = .next()
    ) -> HTTPHeaders {
        let signer = RequestSigner(
            key: self, method: method, target: target, caller: caller, time: time, nonce: nonce)
        body.withUnsafeBytes { signer.update($0) }
        return signer.headers()
    }

    /// A signer for a request whose body is given piece by piece: its headers once the body is all in
    /// (`headers()`), or at once for a streamed body that ends with its tag (`streamHeaders()`, `tag()`).
    public func signer(method: String, target: String, caller: String, nonce: RequestNonce) -> RequestSigner {
        RequestSigner(key: self, method: method, target: target, caller: caller, time: .now(), nonce: nonce)
    }

    /// What an authentic request says about itself.
    public struct Verified {
        public let caller: String
        public let nonce: RequestNonce
        /// Checks the body as it arrives: install it on the request (`HTTPServerRequest.bodyCheck`).
        public let bodyCheck: BodyTagCheck
    }

    /// The request's caller, nonce and body check when its headers are authentic (the body is checked
    /// as it arrives, and the nonce against those seen by the caller of this). A request signed before
    /// `notBefore` is refused: a node gives the moment it started, since the nonces it saw in an earlier
    /// run are gone, and a request captured then would otherwise pass once more after a restart.
    public func verify(
        _ head: HTTPRequestHead, now: WallTime = .now(), notBefore: WallTime? = nil
    ) -> Result<Verified, Rejection> {
        guard let caller = head.headers[ClusterKey.callerHeader], let timeText = head.headers[ClusterKey.timeHeader],
            let nonceText = head.headers[ClusterKey.nonceHeader], let body = head.headers[ClusterKey.bodyHeader],
            let given = head.headers[ClusterKey.signatureHeader], let ms = Int64(timeText)
        else { return .failure(.unsigned) }
        // Hostile times must not overflow: anything beyond a day away is simply too far.
        let (difference, overflow) = ms.subtractingReportingOverflow(now.millisecondsSinceEpoch)
        let skew: Duration =
            overflow || difference.magnitude > 86_400_000
            ? .seconds(86_400) : .milliseconds(Int64(difference.magnitude))
        guard skew <= clockSkewMax else { return .failure(.clockSkew(skew, max: clockSkewMax)) }
        let expected = signature(
            method: head.method, target: head.target, caller: caller, time: ms, nonce: nonceText, body: body)
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array(given.lowercased().utf8)) else {
            return .failure(.badSignature)
        }
        // Only an authentic request learns that it came too early: nobody else learns when a node started.
        if let notBefore, ms < notBefore.millisecondsSinceEpoch {
            return .failure(.signedBeforeStart(.milliseconds(notBefore.millisecondsSinceEpoch - ms)))
        }
        guard let nonce = RequestNonce(text: nonceText) else { return .failure(.badNonce) }
        let expectedTag: [UInt8]?
        if body == ClusterKey.trailerTag {
            expectedTag = nil
        } else {
            guard let tag = [UInt8](hex: body), tag.count == Poly1305.tagBytes else { return .failure(.badSignature) }
            expectedTag = tag
        }
        return .success(
            Verified(
                caller: caller, nonce: nonce, bodyCheck: BodyTagCheck(key: bodyKey(nonce), expected: expectedTag)))
    }
}

/// The signature of one request, its body given piece by piece. One owner.
public final class RequestSigner {
    let key: ClusterKey
    let method: String
    let target: String
    let caller: String
    let time: WallTime
    let nonce: RequestNonce
    private let mac: Poly1305

    init(key: ClusterKey, method: String, target: String, caller: String, time: WallTime, nonce: RequestNonce) {
        self.key = key
        self.method = method
        self.target = target
        self.caller = caller
        self.time = time
        self.nonce = nonce
        mac = Poly1305(key: key.bodyKey(nonce))
    }

    public func update(_ bytes: UnsafeRawBufferPointer) { mac.update(bytes) }

    /// The headers for a body given whole to `update` before this call.
    public func headers() -> HTTPHeaders { headers(body: mac.finish().hexString) }

    /// The headers for a streamed body that ends with `tag()` of the bytes before it.
    public func streamHeaders() -> HTTPHeaders { headers(body: ClusterKey.trailerTag) }

    /// The tag of the body given to `update`: a streamed body's last bytes.
    public func tag() -> [UInt8] { mac.finish() }

    private func headers(body: String) -> HTTPHeaders {
        let ms = time.millisecondsSinceEpoch
        return [
            ClusterKey.callerHeader: caller, ClusterKey.timeHeader: String(ms), ClusterKey.nonceHeader: nonce.text,
            ClusterKey.bodyHeader: body,
            ClusterKey.signatureHeader: key.signature(
                method: method, target: target, caller: caller, time: ms, nonce: nonce.text, body: body),
        ]
    }
}

/// Checks an authenticated request's body against its tag as it arrives.
public final class BodyTagCheck: HTTPBodyCheck {
    private let mac: Poly1305
    /// The tag from the headers; nil when it is the body's last bytes.
    private let expected: [UInt8]?
    /// Told why a body is refused.
    var onRefused: ((String) -> Void)?

    init(key: [UInt8], expected: [UInt8]?) {
        mac = Poly1305(key: key)
        self.expected = expected
    }

    public var trailerBytes: Int { expected == nil ? Poly1305.tagBytes : 0 }

    public func update(_ bytes: UnsafeRawBufferPointer) { mac.update(bytes) }

    public func finish(trailer: [UInt8]) -> String? {
        let tag = expected ?? trailer
        let why =
            tag.count != Poly1305.tagBytes
            ? "the body ends before its tag"
            : Crypto.constantTimeEqual(mac.finish(), tag) ? nil : "the body does not match its signature"
        if let why { onRefused?(why) }
        return why
    }
}
