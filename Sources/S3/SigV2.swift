import Core
import HTTP

/// AWS Signature Version 2, for the clients that still use it: the `AWS AKID:signature` header and
/// presigned query URLs (`AWSAccessKeyId`, `Signature`, `Expires`), which boto3 generates by default.
/// Pure. The payload is not signed in version 2.
public enum SigV2 {
    public struct Claim: Equatable, Sendable {
        public var accessKey: String
        public var signature: String
        /// Presigned: the expiry, seconds since the epoch.
        public var expires: Int64?
    }

    /// Query parameters that are part of the signed resource.
    static let subresources: Set<String> = [
        "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
        "requestPayment",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language",
        "response-content-type", "response-expires", "restore", "tagging", "torrent", "uploadId", "uploads",
        "versionId", "versioning",
        "versions", "website", "replication", "encryption", "object-lock", "retention", "legal-hold",
    ]

    /// The version 2 claim of a request, or nil when it does not use version 2.
    public static func claim(_ head: HTTPRequestHead, query: QueryParameters) throws(SigV4.Failure) -> Claim? {
        if let authorization = head.headers["Authorization"], authorization.hasPrefix("AWS ") {
            let credential = authorization.dropFirst(4)
            guard let colon = credential.lastIndex(of: ":") else {
                throw .malformed("the AWS Authorization header is not 'AWS key:signature'")
            }
            return Claim(
                accessKey: String(credential[..<colon]),
                signature: String(credential[credential.index(after: colon)...]), expires: nil)
        }
        if let key = query["AWSAccessKeyId"] {
            guard let signature = query["Signature"], let expires = Int64(query["Expires"] ?? "") else {
                throw .queryMalformed("a version 2 presigned URL needs AWSAccessKeyId, Signature and Expires")
            }
            return Claim(accessKey: key, signature: signature, expires: expires)
        }
        return nil
    }

    /// `virtualBucket`: the bucket named by the Host header (virtual-host style), which version 2 signs
    /// as the start of the resource.
    public static func verify(
        _ claim: Claim, head: HTTPRequestHead, query: QueryParameters, virtualBucket: String? = nil, accessKey: String,
        secretKey: String,
        now: WallTime
    ) throws(SigV4.Failure) {
        guard claim.accessKey == accessKey else { throw .unknownAccessKey(claim.accessKey) }
        let date: String
        if let expires = claim.expires {
            // Seconds from the URL, so any number: past what milliseconds can hold it is simply far off
            // (an overflow here was a crash on input, found by `make fuzz`).
            let (expiresMs, overflow) = expires.multipliedReportingOverflow(by: 1000)
            let expired = overflow ? expires < 0 : expiresMs < now.millisecondsSinceEpoch
            guard !expired else { throw .urlExpired("the presigned URL expired") }
            date = String(expires)
        } else {
            guard head.headers.contains("x-amz-date") || head.headers.contains("Date") else {
                throw .malformed("missing Date")
            }
            date = head.headers.contains("x-amz-date") ? "" : head.headers["Date"]!
        }
        let toSign = stringToSign(head: head, query: query, virtualBucket: virtualBucket, date: date)
        let expected = Base64.encode(Crypto.hmacSHA1(key: Array(secretKey.utf8), data: Array(toSign.utf8)))
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array(claim.signature.utf8)) else {
            throw .signatureMismatch
        }
    }

    static func stringToSign(
        head: HTTPRequestHead, query: QueryParameters, virtualBucket: String?, date: String
    ) -> String {
        let amz = head.headers.fields.filter { $0.name.lowercased().hasPrefix("x-amz-") }
        var grouped: [String: [String]] = [:]
        for (name, value) in amz { grouped[name.lowercased(), default: []].append(SigV4.collapseSpaces(value)) }
        let amzHeaders = grouped.keys.sorted().map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        let sub = query.pairs.filter { subresources.contains($0.name) }.sorted { $0.name < $1.name }
            .map { $0.value.isEmpty ? $0.name : "\($0.name)=\($0.value)" }
        let resource =
            (virtualBucket.map { "/" + $0 } ?? "") + String(head.path)
            + (sub.isEmpty ? "" : "?" + sub.joined(separator: "&"))
        return [head.method, head.headers["Content-MD5"] ?? "", head.headers["Content-Type"] ?? "", date].joined(
            separator: "\n") + "\n" + amzHeaders + resource
    }
}
