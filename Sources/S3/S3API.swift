import Cluster
import Core
import HTTP
import Loop
import Storage

/// The S3 API of one node: authenticates each request (SigV4), routes it to its operation and answers
/// with S3's headers, XML and errors. Loop-bound.
public final class S3API {
    public let layer: ObjectLayer
    let accessKey: String
    let secretKey: String
    public let region: String
    /// Host names under which `bucket.<domain>` addresses a bucket (virtual-host style).
    let domains: [String]
    /// Signing keys by scope (they change once a day per region).
    private var signingKeys: [String: [UInt8]] = [:]
    static let signingKeysMax = 64
    /// Request bodies S3 sends as XML (CreateBucketConfiguration, ...) are small.
    static let xmlBodyBytesMax: Int64 = 1 << 20
    /// S3's limit on all `x-amz-meta-*` headers of one object.
    static let userMetadataBytesMax = 2048
    /// Called for every object created or removed that some webhook is to hear of (bucket
    /// notifications).
    public var onObjectEvent: ((ObjectEvent) -> Void)?
    /// The ids of the webhooks a notification configuration may name.
    public var webhookIDs: Set<String> = []
    /// Called as each request ends: its operation (`Unauthenticated` or `Invalid` when it never got
    /// one), status, duration, and body bytes in and out.
    public var onRequestEnded:
        ((_ operation: String, _ status: Int, _ seconds: Double, _ received: Int64, _ sent: Int64) -> Void)?

    public init(layer: ObjectLayer, accessKey: String, secretKey: String, region: String, domains: [String]) {
        self.layer = layer
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
        self.domains = domains
    }

    /// The Owner element of listings: a stable id for the root user.
    var ownerID: String { Crypto.sha256(Array(accessKey.utf8)).hexString }

    public func handle(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        var operation = "Unauthenticated"
        if let record = onRequestEnded {
            let started = layer.loop.now
            response.onEnd { [layer] aborted in
                record(
                    operation, aborted ? 499 : response.status ?? 0, layer.loop.now.since(started).seconds,
                    request.bodyBytesReceived, response.bodyBytesWritten)
            }
        }
        let requestID = response.defaultHeaders["X-Amz-Request-Id"] ?? ""
        let resource = String(request.head.path)
        let isHead = request.head.method == "HEAD"
        guard let query = QueryParameters(parsing: request.head.query) else {
            return S3Exchange.fail(
                response, isHead: isHead, .invalidArgument("malformed query string"), resource: resource,
                requestID: requestID)
        }
        let s3: S3Request
        do throws(S3Request.Failure) {
            s3 = try S3Request(head: request.head, query: query, domains: domains)
        } catch {
            let e: S3Error =
                switch error {
                case .malformedPath: .invalidArgument("the request path is not valid percent-encoded UTF-8")
                case .unsupported(let what):
                    .notImplemented(
                        "A header or query you provided implies functionality that is not implemented: \(what).")
                case .methodNotAllowed(let what):
                    .methodNotAllowed("The specified method is not allowed against this resource: \(what).")
                }
            return S3Exchange.fail(response, isHead: isHead, e, resource: resource, requestID: requestID)
        }
        allowCrossOrigin(request, response, bucket: s3.bucket) { [self] in
            // A preflight is never signed; a form upload is signed in its fields, not its headers.
            if s3.operation == .preflight || s3.operation == .postObject {
                operation = s3.operation.rawValue
                return S3Exchange(
                    api: self, request: request, response: response, s3: s3, auth: nil, requestID: requestID
                )
                .run()
            }
            let start = { (auth: S3Auth) in
                operation = s3.operation.rawValue
                S3Exchange(api: self, request: request, response: response, s3: s3, auth: auth, requestID: requestID)
                    .run()
            }
            do throws(SigV4.Failure) {
                start(try authenticate(request, query: query))
            } catch .missing {
                admitAnonymous(request, s3) { admitted in
                    switch admitted {
                    case .success(let auth): start(auth)
                    case .failure(let e):
                        S3Exchange.fail(response, isHead: isHead, e, resource: resource, requestID: requestID)
                    }
                }
            } catch {
                S3Exchange.fail(
                    response, isHead: isHead, S3API.authError(error), resource: resource, requestID: requestID)
            }
        }
    }

    /// An unsigned request goes on only as far as its bucket's policy allows anonymous callers.
    func admitAnonymous(
        _ request: HTTPServerRequest, _ s3: S3Request, _ done: @escaping (Result<S3Auth, S3Error>) -> Void
    ) {
        let denied = S3Error.accessDenied(
            "Access Denied: this request is not signed, and no bucket policy allows it anonymously (\(s3.action ?? s3.operation.rawValue) on \(s3.resource))."
        )
        // Copies read another object: only with credentials.
        guard let action = s3.action, !s3.bucket.isEmpty, s3.operation != .copyObject, s3.operation != .uploadPartCopy
        else { return done(.failure(denied)) }
        layer.requireBucket(s3.bucket) { result in
            switch result {
            case .failure(.noSuchBucket): done(.failure(denied))
            case .failure(let e): done(.failure(S3Error.from(e)))
            case .success(let info):
                let access = AnonymousAccess(policy: info.settings.policy?.value, context: Self.context(request, s3))
                guard access.allows(action, on: s3.resource) else { return done(.failure(denied)) }
                let hash = request.head.headers["X-Amz-Content-Sha256"]
                let payloadHash =
                    hash.map { $0.count == 64 && $0.allSatisfy(\.isHexDigit) } == true ? hash! : SigV4.unsignedPayload
                done(.success(S3Auth(payloadHash: payloadHash, v4: nil, anonymous: access)))
            }
        }
    }

    /// What a request brings to a policy's conditions.
    static func context(_ request: HTTPServerRequest, _ s3: S3Request) -> Policy.Context {
        var c: Policy.Context = ["aws:SecureTransport": "false"]
        if let ip = request.remoteAddress?.host { c["aws:SourceIp"] = ip }
        if let referer = request.head.headers["Referer"] { c["aws:Referer"] = referer }
        if let agent = request.head.headers["User-Agent"] { c["aws:UserAgent"] = agent }
        if [.listObjects, .listObjectsV2, .listObjectVersions, .listMultipartUploads].contains(s3.operation) {
            c["s3:prefix"] = s3.query["prefix"] ?? ""
            if let d = s3.query["delimiter"] { c["s3:delimiter"] = d }
            if let m = s3.query["max-keys"] ?? s3.query["max-uploads"] { c["s3:max-keys"] = m }
        }
        return c
    }

    /// Checks a request's signature (SigV2 or SigV4, in headers or the query).
    func authenticate(_ request: HTTPServerRequest, query: QueryParameters) throws(SigV4.Failure) -> S3Auth {
        if let v2 = try SigV2.claim(request.head, query: query) {
            let virtualBucket = request.head.headers["Host"].map(S3Request.hostName).flatMap {
                S3Request.virtualBucket(host: $0, domains: domains)
            }
            try SigV2.verify(
                v2, head: request.head, query: query, virtualBucket: virtualBucket, accessKey: accessKey,
                secretKey: secretKey, now: .now())
            return S3Auth(
                payloadHash: request.head.headers["X-Amz-Content-Sha256"] ?? SigV4.unsignedPayload, v4: nil,
                anonymous: nil)
        }
        let claim = try SigV4.claim(request.head, query: query)
        try SigV4.verify(
            claim, head: request.head, query: query, accessKey: accessKey, signingKey: signingKey(for:), now: .now())
        return S3Auth(payloadHash: claim.payloadHash, v4: claim, anonymous: nil)
    }

    func signingKey(for scope: SigV4.Scope) -> [UInt8] {
        if let key = signingKeys[scope.text] { return key }
        if signingKeys.count >= S3API.signingKeysMax { signingKeys.removeAll() }
        let key = SigV4.signingKey(secretKey: secretKey, scope: scope)
        signingKeys[scope.text] = key
        return key
    }

    static func authError(_ failure: SigV4.Failure) -> S3Error {
        switch failure {
        case .missing:
            .accessDenied("Access Denied: requests must be signed (AWS Signature Version 4); anonymous access is off.")
        case .malformed(let m): .authorizationMalformed("The authorization is malformed: \(m).")
        case .queryMalformed(let m): S3Error("AuthorizationQueryParametersError", 400, m + ".")
        case .unknownAccessKey: .invalidAccessKey()
        case .expired(let m): .requestTimeTooSkewed(m)
        case .urlExpired(let m): .accessDenied("Request has expired: \(m).")
        case .signatureMismatch:
            .signatureMismatch(
                "The request signature we calculated does not match the signature you provided. Check your key and signing method."
            )
        case .unsupported(let m): .notImplemented(m)
        }
    }
}

/// What authentication established about a request.
struct S3Auth {
    /// What the payload must hash to (hex SHA-256), or UNSIGNED-PAYLOAD, or a streaming mode.
    var payloadHash: String
    /// The SigV4 claim (chunk signatures chain from it); nil for SigV2.
    var v4: SigV4.Claim?
    /// An unsigned request, admitted by the bucket's policy; nil for the owner.
    var anonymous: AnonymousAccess?

    /// Whether the caller may do `action` on `resource` (the owner may do anything).
    func allows(_ action: String, on resource: String) -> Bool {
        anonymous?.allows(action, on: resource) ?? true
    }
}

/// What an anonymous caller may do: the bucket's policy, with the request's condition values.
struct AnonymousAccess {
    var policy: BucketPolicy?
    var context: Policy.Context

    func allows(_ action: String, on resource: String) -> Bool {
        Policy.allows(policy, action: action, resource: resource, context: context)
    }
}

/// One S3 request being answered.
final class S3Exchange {
    let api: S3API
    let request: HTTPServerRequest
    let response: HTTPServerResponse
    let s3: S3Request
    /// nil for a preflight, which is never signed.
    let auth: S3Auth!
    let requestID: String
    var layer: ObjectLayer { api.layer }
    var isHead: Bool { request.head.method == "HEAD" }
    /// A more precise error a digest check found (the object layer only knows "bad digest").
    var rejection: S3Error?

    init(
        api: S3API, request: HTTPServerRequest, response: HTTPServerResponse, s3: S3Request, auth: S3Auth?,
        requestID: String
    ) {
        self.api = api
        self.request = request
        self.response = response
        self.s3 = s3
        self.auth = auth
        self.requestID = requestID
    }

    /// Reads a request's XML document whole (at most `S3API.xmlBodyBytesMax`), answering S3's error when
    /// it is too large or does not arrive.
    func readXMLBody(_ then: @escaping ([UInt8]) -> Void) {
        request.readBody(limit: S3API.xmlBodyBytesMax) { [self] body in
            switch body {
            case .success(let bytes): then(bytes)
            case .failure(.tooLarge(let limit)):
                fail(
                    S3Error(
                        "MaxMessageLengthExceeded", 400,
                        "Your request was too big: an XML document here is at most \(limit) bytes."))
            case .failure: fail(S3Error.incompleteBody("the request body did not arrive whole"))
            }
        }
    }

    /// Answers the request with its operation.
    func run() {
        if let versionID = s3.query["versionId"], let refusal = Self.refusal(ofVersionID: versionID) {
            return fail(refusal)
        }
        switch s3.operation {
        case .listBuckets: listBuckets()
        case .createBucket: createBucket()
        case .headBucket: headBucket()
        case .deleteBucket: deleteBucket()
        case .getBucketLocation: getBucketLocation()
        case .listObjects: listObjects(v2: false)
        case .listObjectsV2: listObjects(v2: true)
        case .putObject: putObject()
        case .getObject: getObject(head: false)
        case .headObject: getObject(head: true)
        case .deleteObject: deleteObject()
        case .createMultipartUpload: createMultipartUpload()
        case .uploadPart: uploadPart()
        case .completeMultipartUpload: completeMultipartUpload()
        case .abortMultipartUpload: abortMultipartUpload()
        case .listParts: listParts()
        case .listMultipartUploads: listMultipartUploads()
        case .copyObject: copyObject()
        case .uploadPartCopy: uploadPartCopy()
        case .deleteObjects: deleteObjects()
        case .getBucketVersioning: getBucketVersioning()
        case .putBucketVersioning: putBucketVersioning()
        case .listObjectVersions: listObjectVersions()
        case .putObjectTagging: putObjectTagging()
        case .getObjectTagging: getObjectTagging()
        case .deleteObjectTagging: deleteObjectTagging()
        case .getBucketCors: getBucketSetting(CORS.self)
        case .putBucketCors: putBucketSetting(CORS.self)
        case .deleteBucketCors: deleteBucketSetting(CORS.self)
        case .getBucketPolicy: getBucketSetting(Policy.self)
        case .putBucketPolicy: putBucketSetting(Policy.self)
        case .deleteBucketPolicy: deleteBucketSetting(Policy.self)
        case .getBucketPolicyStatus: getBucketPolicyStatus()
        case .getBucketAcl: getBucketAcl()
        case .putBucketAcl: putBucketAcl()
        case .getObjectAcl: getObjectAcl()
        case .putObjectAcl: putObjectAcl()
        case .getBucketLifecycleConfiguration: getBucketSetting(LifecycleDocument.self)
        case .putBucketLifecycleConfiguration: putBucketSetting(LifecycleDocument.self)
        case .deleteBucketLifecycle: deleteBucketSetting(LifecycleDocument.self)
        case .getBucketNotificationConfiguration: getBucketSetting(NotificationDocument.self)
        case .putBucketNotificationConfiguration:
            putBucketSetting(NotificationDocument.self) { [api] bytes, _ throws(S3Error) in
                try NotificationDocument.parse(bytes, webhooks: api.webhookIDs)
            }
        case .getObjectAttributes: getObjectAttributes()
        case .getBucketTagging: getBucketSetting(BucketTagging.self)
        case .putBucketTagging: putBucketSetting(BucketTagging.self)
        case .deleteBucketTagging: deleteBucketSetting(BucketTagging.self)
        case .getObjectLockConfiguration: getBucketSetting(ObjectLockDocument.self)
        case .putObjectLockConfiguration: putBucketSetting(ObjectLockDocument.self)
        case .getObjectRetention: getObjectRetention()
        case .putObjectRetention: putObjectRetention()
        case .getObjectLegalHold: getObjectLegalHold()
        case .putObjectLegalHold: putObjectLegalHold()
        case .preflight: preflight()
        case .postObject: postObject()
        }
    }

    /// Reports an object created or removed by this request (`name`: `ObjectCreated:Put` ...).
    func notify(_ name: String, bucket: String, key: String, size: Int64 = 0, etag: String = "", versionID: String?) {
        guard let onObjectEvent = api.onObjectEvent else { return }
        var event = ObjectEvent(
            name: name, bucket: bucket, key: key, size: size, etag: etag, versionID: versionID, time: .now(),
            requestID: requestID, sourceIP: request.remoteAddress?.host ?? "")
        // The bucket's notification configuration picks the webhooks (from the cache: no extra round trip).
        layer.requireBucket(bucket) { result in
            let rules = (try? result.get())?.settings.notifications?.value
            event.targets = NotificationDocument.targets(rules, event: name, key: key)
            if event.targets?.isEmpty != true { onObjectEvent(event) }
        }
    }

    /// The resource an error names: the path as the client sent it (still percent-encoded).
    var resource: String { String(request.head.path) }

    func fail(_ error: S3Error) {
        S3Exchange.fail(response, isHead: isHead, error, resource: resource, requestID: requestID)
    }

    func fail(_ error: ObjectError) {
        if case .badDigest = error, let rejection { return fail(rejection) }
        fail(S3Error.from(error))
    }

    /// Answers with an S3 error: the XML document, or only the status for HEAD (which has no body), or a
    /// cut connection when the response had already begun.
    static func fail(
        _ response: HTTPServerResponse, isHead: Bool, _ error: S3Error, resource: String, requestID: String
    ) {
        guard !response.isHeadWritten else { return response.abortConnection() }
        let body = isHead ? [] : Array(error.xml(resource: resource, requestID: requestID).utf8)
        var headers: HTTPHeaders = ["Content-Type": "application/xml"]
        if error.status == 503 { headers.add("Retry-After", "1") }
        if isHead {
            response.writeHead(status: error.status, headers: headers, contentLength: 0)
            response.end()
        } else {
            response.send(status: error.status, headers: headers, body: body)
        }
    }

    func sendXML(_ xml: String, status: Int = 200, headers: HTTPHeaders = [:]) {
        var all = headers
        all.add("Content-Type", "application/xml")
        response.send(status: status, headers: all, body: Array(xml.utf8))
    }

    /// The time format of S3 listings: `2009-10-12T17:50:30.000Z`.
    static func isoTime(_ ms: Int64) -> String { WallTime(millisecondsSinceEpoch: ms).iso8601 }
}
