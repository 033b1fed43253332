import Core
import HTTP

/// AWS Signature Version 4 for S3: parsing the Authorization header or presigned query, building the
/// canonical request and checking the signature. Pure: the time and the secret come in as arguments.
public enum SigV4 {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    public static let streamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    public static let streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    public static let streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    /// How far a request's X-Amz-Date may be from our clock.
    public static let clockSkewMax: Duration = .seconds(15 * 60)
    /// The longest validity a presigned URL may ask for (7 days).
    public static let presignedExpiresMax = 604_800

    /// The parts of a credential scope: `AKID/20130524/us-east-1/s3/aws4_request`.
    public struct Scope: Equatable, Sendable {
        public var accessKey: String
        public var date: String
        public var region: String
        public var service: String

        public var text: String { "\(date)/\(region)/\(service)/aws4_request" }

        init?(_ credential: String) {
            let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, parts[4] == "aws4_request", parts[1].count == 8, !parts[0].isEmpty else {
                return nil
            }
            accessKey = parts[0]
            date = parts[1]
            region = parts[2]
            service = parts[3]
        }
    }

    /// What a request says about its own signature.
    public struct Claim: Equatable, Sendable {
        public var scope: Scope
        public var signedHeaders: [String]
        public var signature: String
        /// `20130524T000000Z`
        public var amzDate: String
        /// The payload hash the signature covers (header value, or UNSIGNED-PAYLOAD when presigned).
        public var payloadHash: String
        public var presigned: Bool
        /// Presigned only: seconds of validity from `amzDate`.
        public var expires: Int?
    }

    public enum Failure: Error, Equatable, Sendable {
        /// No credentials at all (anonymous request).
        case missing
        case malformed(String)
        /// A presigned URL's X-Amz-* query parameters are missing or out of range.
        case queryMalformed(String)
        case unknownAccessKey(String)
        /// The request's time is too far from the server's (15 minutes).
        case expired(String)
        /// A presigned URL past its expiry (or dated in the future): AWS answers 403 AccessDenied.
        case urlExpired(String)
        case signatureMismatch
        case unsupported(String)
    }

    /// Reads the signature claim from the Authorization header or the presigned query.
    public static func claim(_ head: HTTPRequestHead, query: QueryParameters) throws(Failure) -> Claim {
        if let authorization = head.headers["Authorization"] {
            guard authorization.hasPrefix(algorithm + " ") else {
                if authorization.hasPrefix("AWS ") {
                    throw .unsupported("signature version 2 is not supported: use SigV4")
                }
                throw .malformed("the Authorization header is not AWS4-HMAC-SHA256")
            }
            var fields: [String: String] = [:]
            for part in authorization.dropFirst(algorithm.count + 1).split(separator: ",") {
                let kv = part.trimmingCharacters().split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
            }
            guard let credential = fields["Credential"], let scope = Scope(credential) else {
                throw .malformed("bad Credential in the Authorization header")
            }
            guard let signed = fields["SignedHeaders"], let signature = fields["Signature"] else {
                throw .malformed("the Authorization header lacks SignedHeaders or Signature")
            }
            guard let date = head.headers["X-Amz-Date"] ?? head.headers["Date"].flatMap(amzDate(fromHTTPDate:)) else {
                throw .malformed("missing X-Amz-Date")
            }
            return Claim(
                scope: scope, signedHeaders: signed.split(separator: ";").map { $0.lowercased() },
                signature: signature.lowercased(),
                amzDate: date, payloadHash: head.headers["X-Amz-Content-Sha256"] ?? emptySHA256, presigned: false,
                expires: nil)
        }
        if query["X-Amz-Algorithm"] != nil {
            guard query["X-Amz-Algorithm"] == algorithm else {
                throw .unsupported("X-Amz-Algorithm must be \(algorithm)")
            }
            guard let credential = query["X-Amz-Credential"], let scope = Scope(credential),
                let date = query["X-Amz-Date"],
                let signed = query["X-Amz-SignedHeaders"], let signature = query["X-Amz-Signature"],
                let expires = Int(query["X-Amz-Expires"] ?? "")
            else {
                throw .queryMalformed(
                    "a presigned URL needs X-Amz-Credential, -Date, -Expires, -SignedHeaders and -Signature")
            }
            guard (1...presignedExpiresMax).contains(expires) else {
                throw .queryMalformed("X-Amz-Expires must be 1 to \(presignedExpiresMax) seconds, not \(expires)")
            }
            return Claim(
                scope: scope, signedHeaders: signed.split(separator: ";").map { $0.lowercased() },
                signature: signature.lowercased(), amzDate: date,
                payloadHash: head.headers["X-Amz-Content-Sha256"] ?? unsignedPayload, presigned: true, expires: expires)
        }
        throw .missing
    }

    /// Checks `claim` against the request and the secret; `now` bounds the date.
    public static func verify(
        _ claim: Claim, head: HTTPRequestHead, query: QueryParameters, accessKey: String, secretKey: String,
        now: WallTime
    ) throws(Failure) {
        try verify(
            claim, head: head, query: query, accessKey: accessKey,
            signingKey: { signingKey(secretKey: secretKey, scope: $0) }, now: now)
    }

    /// Checks `claim` with the signing key of its scope from `signingKey` (a server caches them: they
    /// change once a day per region).
    public static func verify(
        _ claim: Claim, head: HTTPRequestHead, query: QueryParameters, accessKey: String,
        signingKey: (Scope) -> [UInt8], now: WallTime
    ) throws(Failure) {
        guard claim.scope.accessKey == accessKey else { throw .unknownAccessKey(claim.scope.accessKey) }
        guard let signedAt = parseAmzDate(claim.amzDate) else {
            throw .malformed("X-Amz-Date '\(claim.amzDate)' is not yyyyMMddTHHmmssZ")
        }
        guard claim.amzDate.hasPrefix(claim.scope.date) else {
            throw .malformed("the credential date does not match X-Amz-Date")
        }
        let skew = now.millisecondsSinceEpoch - signedAt.millisecondsSinceEpoch
        if claim.presigned {
            guard skew <= Int64(claim.expires ?? 0) * 1000 else { throw .urlExpired("the presigned URL expired") }
            guard skew >= -clockSkewMax.milliseconds else {
                throw .urlExpired("the presigned URL is dated in the future")
            }
        } else {
            guard abs(skew) <= clockSkewMax.milliseconds else {
                throw .expired("the request time is \(abs(skew) / 1000)s away from the server's (more than 15 minutes)")
            }
        }
        guard claim.signedHeaders.contains("host") else { throw .malformed("the host header must be signed") }
        let expected = signature(claim, head: head, query: query, signingKey: signingKey(claim.scope))
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array(claim.signature.utf8)) else {
            throw .signatureMismatch
        }
    }

    /// The signature of a request as the client should have computed it.
    public static func signature(
        _ claim: Claim, head: HTTPRequestHead, query: QueryParameters, secretKey: String
    ) -> String {
        signature(claim, head: head, query: query, signingKey: signingKey(secretKey: secretKey, scope: claim.scope))
    }

    static func signature(
        _ claim: Claim, head: HTTPRequestHead, query: QueryParameters, signingKey: [UInt8]
    ) -> String {
        let request = canonicalRequest(claim, head: head, query: query)
        let toSign = stringToSign(claim, canonicalRequest: request)
        return Crypto.hmacSHA256(key: signingKey, data: Array(toSign.utf8)).hexString
    }

    static func canonicalRequest(_ claim: Claim, head: HTTPRequestHead, query: QueryParameters) -> String {
        // S3 signs the path encoded once: decode what was sent, encode it the one canonical way.
        let rawPath = head.path.isEmpty ? "/" : head.path
        let path =
            URLEncoding.decode(rawPath, plusAsSpace: false).map { URLEncoding.encode($0, keepSlash: true) }
            ?? String(rawPath)
        let pairs = query.pairs.filter { !(claim.presigned && $0.name == "X-Amz-Signature") }
            .map { (URLEncoding.encode($0.name), URLEncoding.encode($0.value)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        let canonicalQuery = pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let headers = claim.signedHeaders.map { name -> String in
            let values = head.headers.values(name).map(collapseSpaces)
            return "\(name):\(values.joined(separator: ","))\n"
        }.joined()
        return [
            head.method, path, canonicalQuery, headers, claim.signedHeaders.joined(separator: ";"), claim.payloadHash,
        ].joined(separator: "\n")
    }

    static func stringToSign(_ claim: Claim, canonicalRequest: String) -> String {
        [algorithm, claim.amzDate, claim.scope.text, Crypto.sha256(Array(canonicalRequest.utf8)).hexString].joined(
            separator: "\n")
    }

    public static func signingKey(secretKey: String, scope: Scope) -> [UInt8] {
        var key = Crypto.hmacSHA256(key: Array("AWS4\(secretKey)".utf8), data: Array(scope.date.utf8))
        key = Crypto.hmacSHA256(key: key, data: Array(scope.region.utf8))
        key = Crypto.hmacSHA256(key: key, data: Array(scope.service.utf8))
        return Crypto.hmacSHA256(key: key, data: Array("aws4_request".utf8))
    }

    /// The signature of one chunk of an aws-chunked payload, chained from the previous one.
    public static func chunkSignature(
        signingKey: [UInt8], claim: Claim, previous: String, chunkSHA256: String, trailer: Bool = false
    ) -> String {
        let kind = trailer ? "AWS4-HMAC-SHA256-TRAILER" : "AWS4-HMAC-SHA256-PAYLOAD"
        let parts =
            trailer
            ? [kind, claim.amzDate, claim.scope.text, previous, chunkSHA256]
            : [kind, claim.amzDate, claim.scope.text, previous, emptySHA256, chunkSHA256]
        return Crypto.hmacSHA256(key: signingKey, data: Array(parts.joined(separator: "\n").utf8)).hexString
    }

    /// Signs a request as a client (the benchmark, tools): adds `X-Amz-Date`, `X-Amz-Content-Sha256` and
    /// `Authorization` over the host, those two, and any `x-amz-*` headers already present.
    public static func sign(
        method: String, target: String, headers: inout HTTPHeaders, host: String, payloadHash: String = unsignedPayload,
        accessKey: String,
        secretKey: String, region: String, now: WallTime = .now()
    ) {
        let iso = now.iso8601  // 2026-11-25T14:02:12.308Z
        let amzDate = iso.prefix(19).filter { $0 != "-" && $0 != ":" } + "Z"
        headers.set("Host", host)
        headers.set("X-Amz-Date", amzDate)
        headers.set("X-Amz-Content-Sha256", payloadHash)
        let signed = Set(headers.fields.map { $0.name.lowercased() }.filter { $0 == "host" || $0.hasPrefix("x-amz-") })
            .sorted()
        let scope = Scope("\(accessKey)/\(amzDate.prefix(8))/\(region)/s3/aws4_request")!
        let claim = Claim(
            scope: scope, signedHeaders: signed, signature: "", amzDate: amzDate, payloadHash: payloadHash,
            presigned: false, expires: nil)
        let head = HTTPRequestHead(method: method, target: target, headers: headers)
        let query = QueryParameters(parsing: head.query) ?? QueryParameters()
        let signature = signature(claim, head: head, query: query, secretKey: secretKey)
        headers.set(
            "Authorization",
            "\(algorithm) Credential=\(accessKey)/\(scope.text),SignedHeaders=\(signed.joined(separator: ";")),Signature=\(signature)"
        )
    }

    /// A presigned URL's target for `method` on `path` (already URL-encoded), valid for `expires`
    /// seconds: a share link, or a download a browser fetches itself.
    public static func presign(
        method: String, path: String, query extra: [(String, String)] = [], host: String, expires: Int,
        accessKey: String, secretKey: String, region: String, now: WallTime = .now()
    ) -> String {
        let iso = now.iso8601
        let amzDate = iso.prefix(19).filter { $0 != "-" && $0 != ":" } + "Z"
        let scope = Scope("\(accessKey)/\(amzDate.prefix(8))/\(region)/s3/aws4_request")!
        let query = QueryParameters(
            [
                ("X-Amz-Algorithm", algorithm), ("X-Amz-Credential", "\(accessKey)/\(scope.text)"),
                ("X-Amz-Date", amzDate), ("X-Amz-Expires", String(expires)), ("X-Amz-SignedHeaders", "host"),
            ] + extra)
        let target = path + "?" + query.encoded
        let claim = Claim(
            scope: scope, signedHeaders: ["host"], signature: "", amzDate: amzDate, payloadHash: unsignedPayload,
            presigned: true, expires: expires)
        let head = HTTPRequestHead(method: method, target: target, headers: ["Host": host])
        let signature = signature(claim, head: head, query: query, secretKey: secretKey)
        return target + "&X-Amz-Signature=" + signature
    }

    static func collapseSpaces(_ value: String) -> String {
        var out = ""
        var lastSpace = false
        for c in value.trimmingCharacters() {
            if c == " " || c == "\t" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(c)
                lastSpace = false
            }
        }
        return out
    }

    /// `20130524T000000Z` to a time.
    static func parseAmzDate(_ text: String) -> WallTime? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        let iso =
            "\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.dropFirst(6).prefix(2))T\(text.dropFirst(9).prefix(2)):\(text.dropFirst(11).prefix(2)):\(text.dropFirst(13).prefix(2))Z"
        return WallTime(iso8601: iso)
    }

    /// Old clients sign `Date` instead of `X-Amz-Date`; turn it into the compact form.
    static func amzDate(fromHTTPDate text: String) -> String? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, let m = months.firstIndex(of: String(parts[2])), parts[4].count == 8 else { return nil }
        let day = parts[1].count == 1 ? "0" + parts[1] : String(parts[1])
        let month = m + 1 < 10 ? "0\(m + 1)" : "\(m + 1)"
        return "\(parts[3])\(month)\(day)T\(parts[4].filter { $0 != ":" })Z"
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return String(s)
    }
}
