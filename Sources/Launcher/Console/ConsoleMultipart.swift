import Core
import HTTP
import S3
import Storage

/// Large files from the browser go up as S3 multipart uploads: the page starts one here, sends each
/// part through `/api/upload?...&uploadId=&partNumber=` (streamed to a node like a whole upload) and
/// completes it with the parts' ETags, or aborts it when a part fails. Any node may take any step, so
/// an upload survives the node it began on going down between parts.
extension ConsoleServer {
    /// Files larger than this go up in parts (smaller ones as one PUT).
    static let multipartAbove: Int64 = 16 << 20
    /// A part's size unless the file needs larger ones to fit S3's 10 000 parts.
    static let partBytes: Int64 = 8 << 20
    /// The largest start, completion or abort body (a completion names up to 10 000 ETags).
    static let multipartCallBytesMax: Int64 = 1 << 20

    /// The part size for a file of `size` bytes: `partBytes`, or the next whole MiB that makes its
    /// parts fit S3's 10 000.
    static func partBytes(forFileOf size: Int64) -> Int64 {
        let parts = Int64(MultipartLimits.partNumberMax)
        let least = (size + parts - 1) / parts
        return max(partBytes, ((least + (1 << 20) - 1) >> 20) << 20)
    }

    /// `POST /api/multipart` `{action: "start", bucket, key, size, contentType?}` answers `{uploadId,
    /// partBytes}`; `{action: "complete", bucket, key, uploadId, etags: [...]}` makes the object of the
    /// parts in that order; `{action: "abort", bucket, key, uploadId}` drops the upload and its parts.
    func multipart(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        request.readBody(limit: ConsoleServer.multipartCallBytesMax) { [unowned self] result in
            guard case .success(let body) = result, let call = try? JSONValue.parse(body) else {
                return text(response, 400, "the body must be a JSON object")
            }
            guard let bucket = call["bucket"]?.stringValue, !bucket.isEmpty, !bucket.contains("/"),
                let key = call["key"]?.stringValue, !key.isEmpty
            else { return text(response, 400, "name a bucket and a key") }
            guard let target else { return text(response, 503, "no node answers: start one") }
            let path = "/" + URLEncoding.encode(bucket) + "/" + URLEncoding.encode(key, keepSlash: true)
            let upload = call["uploadId"]?.stringValue ?? ""
            let uploadQuery = "?" + QueryParameters([("uploadId", upload)]).encoded
            switch call["action"]?.stringValue {
            case "start":
                guard let size = call["size"]?.intValue, size >= 0 else {
                    return text(response, 400, "a start names the file's size")
                }
                let partBytes = ConsoleServer.partBytes(forFileOf: size)
                guard partBytes <= MultipartLimits.partBytesMax else {
                    return text(response, 400, "\(size) bytes is past what S3 takes in 10 000 parts")
                }
                let contentType = call["contentType"]?.stringValue ?? ""
                let headers: HTTPHeaders = [
                    "Content-Type": contentType.isEmpty ? "application/octet-stream" : contentType
                ]
                s3("POST", path + "?uploads", headers: headers, to: target, response) { [unowned self] answer in
                    guard let id = (try? XMLElement.parse(answer.body))?.child("UploadId")?.value, !id.isEmpty else {
                        return text(response, 502, "\(target) started no upload: \(Launcher.s3ErrorText(answer))")
                    }
                    sendJSON(response, .object([("uploadId", .string(id)), ("partBytes", .int(partBytes))]))
                }
            case "complete":
                guard !upload.isEmpty, case .array(let given)? = call["etags"], !given.isEmpty,
                    given.count <= MultipartLimits.partNumberMax
                else { return text(response, 400, "a completion names its upload and 1 to 10 000 part ETags") }
                let etags = given.compactMap(\.stringValue)
                guard etags.count == given.count else { return text(response, 400, "an ETag is a string") }
                var document = XMLWriter()
                document.open("CompleteMultipartUpload", namespace: true)
                for (index, etag) in etags.enumerated() {
                    document.open("Part")
                    document.element("PartNumber", String(index + 1))
                    document.element("ETag", etag)
                    document.close("Part")
                }
                document.close("CompleteMultipartUpload")
                s3("POST", path + uploadQuery, body: Array(document.document.utf8), to: target, response) {
                    [unowned self] answer in
                    // S3 may answer a completion 200 and still fail it, in the body.
                    if let root = try? XMLElement.parse(answer.body), root.name == "Error" {
                        return text(response, 502, Launcher.s3ErrorText(answer))
                    }
                    response.send(status: 204)
                }
            case "abort":
                guard !upload.isEmpty else { return text(response, 400, "an abort names its upload") }
                s3("DELETE", path + uploadQuery, to: target, response) { _ in response.send(status: 204) }
            default:
                text(response, 400, "the action is start, complete or abort")
            }
        }
    }
}
