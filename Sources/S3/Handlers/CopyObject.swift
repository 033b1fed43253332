import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    /// S3's limit on the source of a single CopyObject.
    static let copySizeMax: Int64 = 5 << 30

    /// S3's answer to a version id that cannot name a version (before any node is asked).
    static func refusal(ofVersionID id: String) -> S3Error? {
        VersionID.isWellFormed(id) ? nil : .invalidArgument("Invalid version id specified: '\(id)'")
    }

    /// `x-amz-copy-source`: `/bucket/key` or `bucket/key`, percent-encoded, with an optional
    /// `?versionId=`. Nil after answering with an error.
    func copySource() -> (bucket: String, key: String, versionID: String?)? {
        guard let raw = request.head.headers["x-amz-copy-source"] else { return nil }
        var text = Substring(raw)
        var versionID: String?
        if let q = text.firstIndex(of: "?") {
            let query = QueryParameters(parsing: text[text.index(after: q)...])
            versionID = query?["versionId"]
            text = text[..<q]
        }
        if let versionID, let refusal = Self.refusal(ofVersionID: versionID) {
            fail(refusal)
            return nil
        }
        if text.hasPrefix("/") { text = text.dropFirst() }
        guard let decoded = URLEncoding.decode(text, plusAsSpace: false), let slash = decoded.firstIndex(of: "/"),
            slash != decoded.startIndex, decoded.index(after: slash) != decoded.endIndex
        else {
            fail(.invalidArgument("x-amz-copy-source must be /bucket/key (percent-encoded), not '\(raw)'"))
            return nil
        }
        return (String(decoded[..<slash]), String(decoded[decoded.index(after: slash)...]), versionID)
    }

    /// Resolves the copy source and checks its `x-amz-copy-source-if-*` conditions.
    private func resolveSource(_ done: @escaping (ResolvedObject) -> Void) {
        guard let source = copySource() else { return }
        layer.headObject(bucket: source.bucket, key: source.key, versionID: source.versionID) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let object) where object.version.isDeleteMarker:
                fail(S3Error.from(.noSuchKey(bucket: source.bucket, key: source.key)))
            case .success(let object):
                let conditions = Preconditions(request.head.headers, prefix: "x-amz-copy-source-")
                guard conditions.evaluate(etag: object.version.etag, modified: object.version.modTime) == .proceed
                else {
                    return fail(S3Error.preconditionFailed("x-amz-copy-source-If"))
                }
                done(object)
            }
        }
    }

    /// CopyObject: the source's bytes streamed into a new version of the destination, with the
    /// source's attributes (`x-amz-metadata-directive: COPY`, the default) or the request's (REPLACE).
    func copyObject() {
        let directive = (request.head.headers["x-amz-metadata-directive"] ?? "COPY").uppercased()
        guard directive == "COPY" || directive == "REPLACE" else {
            return fail(.invalidArgument("x-amz-metadata-directive must be COPY or REPLACE"))
        }
        let tagging = (request.head.headers["x-amz-tagging-directive"] ?? "COPY").uppercased()
        guard tagging == "COPY" || tagging == "REPLACE" else {
            return fail(.invalidArgument("x-amz-tagging-directive must be COPY or REPLACE"))
        }
        guard objectACLIsOwners(), let source = copySource() else { return }
        if source.bucket == s3.bucket && source.key == s3.key && source.versionID == nil && directive == "COPY" {
            return fail(
                S3Error.invalidRequest(
                    "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
                ))
        }
        resolveSource { [self] object in
            guard object.version.size <= S3Exchange.copySizeMax else {
                return fail(
                    S3Error.invalidRequest(
                        "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"
                    ))
            }
            var options = PutOptions()
            options.size = object.version.size
            if directive == "REPLACE" {
                guard readObjectAttributes(into: &options) else { return }
            } else {
                guard readObjectLock(request.head.headers, into: &options) else { return }
                options.contentType = object.version.contentType
                options.userMetadata = object.version.userMetadata
                options.headers = object.version.headers
            }
            if tagging == "REPLACE" {
                guard let tags = requestTags() else { return }
                options.tags = tags
            } else {
                options.tags = object.version.tags
            }
            options.checksums = object.version.checksums.keys.compactMap { ChecksumAlgorithm(rawValue: $0) }.sorted {
                $0.rawValue < $1.rawValue
            }
            layer.putObject(
                bucket: s3.bucket, key: s3.key, options: options, body: layer.body(reading: object),
                verify: { _ in nil }
            ) { [self] result in
                switch result {
                case .failure(let e): fail(e)
                case .success(let version):
                    var headers = versionHeader(version)
                    if object.version.versionID != VersionID.null {
                        headers.add("x-amz-copy-source-version-id", object.version.versionID)
                    }
                    var w = XMLWriter()
                    w.open("CopyObjectResult", namespace: true)
                    w.element("LastModified", S3Exchange.isoTime(version.modTime))
                    w.element("ETag", "\"\(version.etag)\"")
                    w.close("CopyObjectResult")
                    sendXML(w.document, headers: headers)
                    notify(
                        "ObjectCreated:Copy", bucket: s3.bucket, key: s3.key, size: version.size, etag: version.etag,
                        versionID: version.versionID)
                }
            }
        }
    }

    /// UploadPartCopy: a part of a multipart upload from (a range of) another object.
    func uploadPartCopy() {
        guard let number = partNumber(), let uploadID = s3.query["uploadId"] else { return }
        resolveSource { [self] object in
            var range: Range<Int64>?
            if let header = request.head.headers["x-amz-copy-source-range"] {
                guard case .partial(let r) = ByteRange.parse(header, size: object.version.size),
                    header.hasPrefix("bytes=")
                else {
                    return fail(
                        .invalidArgument("x-amz-copy-source-range must be bytes=first-last within the source's size"))
                }
                range = r
            }
            let length = range.map { Int64($0.count) } ?? object.version.size
            guard length <= MultipartLimits.partBytesMax else {
                return fail(.invalidArgument("a part is at most \(MultipartLimits.partBytesMax) bytes"))
            }
            var options = PutOptions()
            options.size = length
            options.sizeMax = MultipartLimits.partBytesMax
            layer.uploadPart(
                bucket: s3.bucket, key: s3.key, uploadID: uploadID, partNumber: number, options: options,
                body: layer.body(reading: object, range: range), verify: { _ in nil }
            ) { [self] result in
                switch result {
                case .failure(let e): fail(e)
                case .success(let part):
                    var headers: HTTPHeaders = [:]
                    if object.version.versionID != VersionID.null {
                        headers.add("x-amz-copy-source-version-id", object.version.versionID)
                    }
                    var w = XMLWriter()
                    w.open("CopyPartResult", namespace: true)
                    w.element("LastModified", S3Exchange.isoTime(WallTime.now().millisecondsSinceEpoch))
                    w.element("ETag", "\"\(part.etag)\"")
                    w.close("CopyPartResult")
                    sendXML(w.document, headers: headers)
                }
            }
        }
    }
}
