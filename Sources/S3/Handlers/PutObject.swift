import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    /// Response headers an object keeps: what a PUT stores is what GET and HEAD give back.
    static let storedHeaders = [
        "Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires",
    ]

    func putObject() {
        var options = PutOptions()
        guard readObjectAttributes(into: &options), let incoming = incomingBody(options) else { return }
        var conditional = incoming.options
        conditional.condition = writeCondition()
        write(conditional, incoming)
    }

    /// The request's If-Match / If-None-Match as a condition on the object as it is when the write
    /// commits (judged under its write lock); nil without them. AWS: 412 PreconditionFailed, or 404
    /// NoSuchKey for If-Match on a missing key.
    func writeCondition() -> (@Sendable (ObjectVersion?) -> ObjectError?)? {
        let conditions = Preconditions(request.head.headers)
        guard conditions.ifMatch != nil || conditions.ifNoneMatch != nil else { return nil }
        let (bucket, key) = (s3.bucket, s3.key)
        return { current in
            if current == nil && conditions.ifMatch != nil { return .noSuchKey(bucket: bucket, key: key) }
            return conditions.evaluateWrite(currentETag: current?.etag) == .proceed
                ? nil : .preconditionFailed(current == nil ? "If-Match" : "If-None-Match / If-Match")
        }
    }

    private func write(
        _ options: PutOptions, _ incoming: (options: PutOptions, body: S3Body, verify: (ContentDigests) -> ObjectError?)
    ) {
        layer.putObject(
            bucket: s3.bucket, key: s3.key, options: options, body: incoming.body, verify: incoming.verify
        ) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let version):
                var out: HTTPHeaders = ["ETag": "\"\(version.etag)\""]
                for (name, value) in version.checksums { out.add("x-amz-checksum-\(name.lowercased())", value) }
                if version.versionID != VersionID.null { out.add("x-amz-version-id", version.versionID) }
                response.send(status: 200, headers: out)
                notify(
                    "ObjectCreated:Put", bucket: s3.bucket, key: s3.key, size: version.size, etag: version.etag,
                    versionID: version.versionID)
            }
        }
    }

    /// The attributes an object keeps from the request that creates it (PutObject,
    /// CreateMultipartUpload; `headers`: a form upload's fields): content type, user metadata, tags,
    /// stored headers. False after answering with an error.
    func readObjectAttributes(into options: inout PutOptions, from fields: HTTPHeaders? = nil) -> Bool {
        let headers = fields ?? request.head.headers
        guard objectACLIsOwners(headers), readObjectLock(headers, into: &options), encryptionIsStorable(headers)
        else { return false }
        options.contentType = headers["Content-Type"] ?? "binary/octet-stream"
        var metadataBytes = 0
        for (name, value) in headers where name.lowercased().hasPrefix("x-amz-meta-") {
            let key = String(name.dropFirst("x-amz-meta-".count)).lowercased()
            metadataBytes += key.utf8.count + value.utf8.count
            options.userMetadata[key] = options.userMetadata[key].map { $0 + "," + value } ?? value
        }
        guard metadataBytes <= S3API.userMetadataBytesMax else {
            fail(.metadataTooLarge())
            return false
        }
        guard let tags = requestTags(headers) else { return false }
        options.tags = tags
        for name in S3Exchange.storedHeaders {
            guard var value = headers[name] else { continue }
            if name == "Content-Encoding" {
                value = value.split(separator: ",").map { $0.trimmingCharacters() }.filter { $0 != "aws-chunked" }
                    .joined(separator: ",")
                if value.isEmpty { continue }
            }
            options.headers[name] = value
        }
        return true
    }

    /// Server-side encryption: SSE-S3 (`AES256`, what S3 applies to every object anyway) is accepted, the
    /// bytes kept as sent on this machine's disks; KMS keys and customer keys (SSE-C), which a client
    /// would rely on to keep the bytes from readers without them, are refused rather than ignored.
    private func encryptionIsStorable(_ headers: HTTPHeaders) -> Bool {
        if let mode = headers["x-amz-server-side-encryption"], mode != "AES256" {
            fail(S3Error.notImplemented("server-side encryption '\(mode)' is not supported (AES256 is accepted)"))
            return false
        }
        if headers["x-amz-server-side-encryption-customer-algorithm"] != nil {
            fail(S3Error.notImplemented("server-side encryption with customer keys (SSE-C) is not supported"))
            return false
        }
        return true
    }

    /// A request body as the object layer takes it (PutObject, UploadPart): its decoded length, the
    /// aws-chunked decoder when framed, the digests to compute, and the check of every digest the client
    /// sent. Nil after answering with an error.
    func incomingBody(
        _ base: PutOptions
    ) -> (options: PutOptions, body: S3Body, verify: (ContentDigests) -> ObjectError?)? {
        let headers = request.head.headers
        let payloadHash = auth.payloadHash
        let streaming = payloadHash.hasPrefix("STREAMING-") || headers.hasToken("aws-chunked", in: "Content-Encoding")
        var decoder: AWSChunkedDecoder?
        if streaming {
            switch payloadHash {
            case SigV4.streamingSigned, SigV4.streamingSignedTrailer:
                guard let claim = auth.v4 else {
                    fail(S3Error.invalidRequest("signed aws-chunked bodies need a SigV4 request"))
                    return nil
                }
                decoder = AWSChunkedDecoder(
                    signing: .signed(claim: claim, signingKey: api.signingKey(for: claim.scope)),
                    expectsTrailer: payloadHash == SigV4.streamingSignedTrailer)
            case SigV4.streamingUnsignedTrailer:
                decoder = AWSChunkedDecoder(signing: .unsigned, expectsTrailer: true)
            default:
                fail(.notImplemented("x-amz-content-sha256 '\(payloadHash)' is not supported"))
                return nil
            }
        }
        var options = base
        if streaming {
            if let decoded = headers["x-amz-decoded-content-length"] {
                guard let n = Int64(decoded), n >= 0 else {
                    fail(.invalidArgument("x-amz-decoded-content-length is not a number"))
                    return nil
                }
                options.size = n
            }
        } else if let length = request.head.contentLength {
            options.size = length
        } else if !request.head.isChunked {
            fail(.missingContentLength())
            return nil
        }
        if let size = options.size, size > options.sizeMax {
            fail(.from(.entityTooLarge(limit: options.sizeMax)))
            return nil
        }
        // Checksums the client announced, in headers or as trailers.
        var algorithms = Set(headers.fields.compactMap { ChecksumAlgorithm(headerName: $0.name) })
        for trailer in headers.values("x-amz-trailer").flatMap({ $0.split(separator: ",") }) {
            guard let a = ChecksumAlgorithm(headerName: trailer.trimmingCharacters()) else {
                fail(.invalidArgument("unsupported trailer '\(trailer)'"))
                return nil
            }
            algorithms.insert(a)
        }
        if let sdk = headers["x-amz-sdk-checksum-algorithm"] {
            guard let a = ChecksumAlgorithm(rawValue: sdk.uppercased()) else {
                fail(.invalidArgument("unsupported checksum algorithm '\(sdk)'"))
                return nil
            }
            algorithms.insert(a)
        }
        options.checksums = algorithms.sorted { $0.rawValue < $1.rawValue }
        let signedPayload = payloadHash.count == 64 && payloadHash.allSatisfy(\.isHexDigit)
        options.computeSHA256 = signedPayload
        if !signedPayload && !streaming && payloadHash != SigV4.unsignedPayload && payloadHash != SigV4.emptySHA256 {
            fail(
                .invalidArgument(
                    "x-amz-content-sha256 '\(payloadHash)' is not a SHA-256, UNSIGNED-PAYLOAD or a streaming mode"))
            return nil
        }
        var contentMD5: [UInt8]?
        if let md5 = headers["Content-MD5"] {
            guard let bytes = Base64.decode(md5), bytes.count == 16 else {
                fail(.invalidDigest("The Content-MD5 you specified is not valid."))
                return nil
            }
            contentMD5 = bytes
        }
        let body = S3Body(request: request, decoder: decoder)
        return (
            options, body,
            { [self] digests in
                verifyDigests(digests, contentMD5: contentMD5, signedPayload: signedPayload, body: body)
            }
        )
    }

    /// Every digest the client sent must match the content, or nothing is committed.
    private func verifyDigests(
        _ digests: ContentDigests, contentMD5: [UInt8]?, signedPayload: Bool, body: S3Body
    ) -> ObjectError? {
        if let contentMD5, contentMD5 != digests.md5 {
            rejection = .badDigest("The Content-MD5 you specified did not match what we received.")
            return .badDigest("Content-MD5 mismatch")
        }
        if signedPayload, digests.sha256?.hexString != auth.payloadHash.lowercased() {
            rejection = .sha256Mismatch()
            return .badDigest("x-amz-content-sha256 mismatch")
        }
        let given = request.head.headers.fields.filter { ChecksumAlgorithm(headerName: $0.name) != nil } + body.trailers
        for (name, value) in given {
            guard let algorithm = ChecksumAlgorithm(headerName: name) else { continue }
            guard let computed = digests.checksums[algorithm], Base64.encode(computed) == value.trimmingCharacters()
            else {
                rejection = .badDigest("The \(name) you specified did not match the calculated checksum.")
                return .badDigest("\(name) mismatch")
            }
        }
        return nil
    }
}
