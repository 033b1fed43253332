import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    /// GetObject and HeadObject: headers from the version a read quorum agrees on, then (GET) the bytes,
    /// streamed as they are decoded.
    func getObject(head: Bool) {
        layer.headObject(bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"]) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let object):
                guard !object.version.isDeleteMarker else { return failOnDeleteMarker(object.version) }
                send(object, head: head)
            }
        }
    }

    /// `response-*` query parameters of a GET: the response headers they override.
    static let responseOverrides = [
        ("response-content-type", "Content-Type"), ("response-content-language", "Content-Language"),
        ("response-expires", "Expires"), ("response-cache-control", "Cache-Control"),
        ("response-content-disposition", "Content-Disposition"), ("response-content-encoding", "Content-Encoding"),
    ]

    private func send(_ object: ResolvedObject, head: Bool) {
        let v = object.version
        let validators: HTTPHeaders = [
            "ETag": "\"\(v.etag)\"", "Last-Modified": WallTime(millisecondsSinceEpoch: v.modTime).httpDate,
        ]
        switch Preconditions(request.head.headers).evaluate(etag: v.etag, modified: v.modTime) {
        case .proceed: break
        case .notModified:
            response.writeHead(status: 304, headers: validators, contentLength: nil)
            return response.end()
        case .failed: return fail(S3Error.preconditionFailed("If-Match / If-Unmodified-Since"))
        }
        var headers = validators
        headers.add("Accept-Ranges", "bytes")
        var stored = v.headers
        stored["Content-Type"] = v.contentType ?? "binary/octet-stream"
        for (parameter, header) in S3Exchange.responseOverrides {
            if let value = s3.query[parameter] { stored[header] = value }
        }
        for (name, value) in stored.sorted(by: { $0.key < $1.key }) { headers.add(name, value) }
        for (name, value) in v.userMetadata.sorted(by: { $0.key < $1.key }) { headers.add("x-amz-meta-\(name)", value) }
        if v.versionID != VersionID.null { headers.add("x-amz-version-id", v.versionID) }
        if !v.tags.isEmpty { headers.add("x-amz-tagging-count", String(v.tags.count)) }
        S3Exchange.objectLockHeaders(v, into: &headers)
        var status = 200
        var range: Range<Int64>?
        if s3.query.contains("partNumber") {
            // One part of a multipart object (part 1 of a single-part one is all of it).
            guard let number = partNumber() else { return }
            let parts = v.storedParts
            guard let i = parts.firstIndex(where: { $0.number == number }) else {
                return fail(S3Error("InvalidPartNumber", 416, "The requested partnumber is not satisfiable"))
            }
            let start = parts[..<i].reduce(Int64(0)) { $0 + $1.size }
            headers.add("x-amz-mp-parts-count", String(parts.count))
            if v.parts != nil {
                status = 206
                range = start..<(start + parts[i].size)
                headers.add("Content-Range", "bytes \(start)-\(start + parts[i].size - 1)/\(v.size)")
            }
        } else {
            switch ByteRange.parse(request.head.headers["Range"], size: v.size) {
            case .whole: break
            case .unsatisfiable:
                response.defaultHeaders.add("Content-Range", "bytes */\(v.size)")
                return fail(.invalidRange(v.size))
            case .partial(let r):
                status = 206
                range = r
                headers.add("Content-Range", "bytes \(r.lowerBound)-\(r.upperBound - 1)/\(v.size)")
            }
        }
        // A checksum covers the whole object: a partial read does not get it (clients would check it).
        if range == nil && request.head.headers["x-amz-checksum-mode"]?.uppercased() == "ENABLED" {
            if let type = S3Exchange.checksumType(v.checksums) { headers.add("x-amz-checksum-type", type.rawValue) }
            for (name, value) in v.checksums.sorted(by: { $0.key < $1.key }) {
                headers.add("x-amz-checksum-\(name.lowercased())", value)
            }
        }
        let length = range.map { Int64($0.count) } ?? v.size
        guard !head, length > 0 else {
            response.writeHead(status: status, headers: headers, contentLength: length)
            return response.end()
        }
        // The head waits for the first decoded block, so an object that cannot be read gets an S3 error
        // (503) rather than a 200 with a cut body. Once it is out, a failure can only cut the stream.
        layer.readObject(
            object, range: range,
            sink: { [self] buffer, more in
                if !response.isHeadWritten {
                    response.writeHead(status: status, headers: headers, contentLength: length)
                }
                response.write(buffer) { error in more(error == nil) }
            }
        ) { [self] error in
            if let error { fail(error) } else { response.end() }
        }
    }

    func deleteObject() {
        layer.deleteObject(
            bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"], bypassGovernance: bypassesGovernance
        ) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let outcome):
                var headers: HTTPHeaders = [:]
                if let v = outcome.versionID { headers.add("x-amz-version-id", v) }
                if outcome.isDeleteMarker { headers.add("x-amz-delete-marker", "true") }
                response.send(status: 204, headers: headers)
                notify(
                    Self.removalEvent(outcome, versionID: s3.query["versionId"]), bucket: s3.bucket, key: s3.key,
                    versionID: outcome.versionID)
            }
        }
    }

    /// S3's answer to a read that found a delete marker: 404 NoSuchKey, or 405 when the marker was named
    /// by its version id (it has no content to get), with the marker's headers.
    func failOnDeleteMarker(_ marker: ObjectVersion) {
        response.defaultHeaders.add("x-amz-delete-marker", "true")
        if marker.versionID != VersionID.null { response.defaultHeaders.add("x-amz-version-id", marker.versionID) }
        if s3.query["versionId"] != nil {
            return fail(S3Error.methodNotAllowed("The specified method is not allowed against this resource."))
        }
        fail(S3Error.from(.noSuchKey(bucket: s3.bucket, key: s3.key)))
    }

    /// A delete without a version id that answers a delete marker made one; with one it removed a version
    /// (which may have been a marker).
    static func removalEvent(_ outcome: ObjectLayer.DeleteOutcome, versionID: String?) -> String {
        outcome.isDeleteMarker && versionID == nil ? "ObjectRemoved:DeleteMarkerCreated" : "ObjectRemoved:Delete"
    }
}
