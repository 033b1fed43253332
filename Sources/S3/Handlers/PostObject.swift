import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    static let malformedPOST = S3Error(
        "MalformedPOSTRequest", 400, "The body of your POST request is not well-formed multipart/form-data.")

    /// PostObject: an HTML form upload (`POST /bucket`, multipart/form-data). The fields before the
    /// file are checked (signature, policy, or the bucket policy for an unsigned form) as soon as the
    /// file begins; the file then streams into the object layer like a PUT body.
    func postObject() {
        guard let contentType = request.head.headers["Content-Type"],
            let boundary = FormDataParser.boundary(contentType: contentType)
        else { return fail(S3Exchange.malformedPOST) }
        var parser = FormDataParser(boundary: boundary)
        var fields: [(name: String, value: String)] = []
        let file = FormFileBody(request: request)
        var failed = false
        let refuse = { [self] (error: S3Error) in
            guard !failed else { return }
            failed = true
            request.pauseBody()
            // Once the file is flowing, the object layer gives up the write and answers.
            if file.isStarted { file.finish(.incompleteBody(error.message)) } else { fail(error) }
        }
        request.streamBody(
            chunk: { bytes in
                guard !failed else { return }
                do throws(FormDataParser.Failure) {
                    try parser.feed(bytes) { [self] event in
                        switch event {
                        case .field(let name, let value): fields.append((name, value))
                        case .fileStart(let filename, let type):
                            request.pauseBody()
                            beginUpload(fields, filename: filename, fileType: type, file: file) { refuse($0) }
                        case .fileData(let bytes): file.deliver(bytes)
                        }
                    }
                } catch {
                    refuse(
                        S3Error(
                            "MalformedPOSTRequest", 400,
                            "The body of your POST request is not well-formed multipart/form-data: \(error.description)."
                        ))
                }
            },
            end: { error in
                guard !failed else { return }
                if let error { return refuse(.incompleteBody("the form did not arrive whole: \(error)")) }
                do throws(FormDataParser.Failure) {
                    try parser.finish()
                    file.finish(nil)
                } catch {
                    refuse(parser.sawFile ? .incompleteBody(error.description) : .invalidArgument(error.description))
                }
            })
    }

    /// Checks the form's fields and starts the write of its file (`refuse`: answers with an error).
    private func beginUpload(
        _ list: [(name: String, value: String)], filename: String?, fileType: String?, file: FormFileBody,
        refuse: @escaping (S3Error) -> Void
    ) {
        var fields: [String: String] = [:]
        for (name, value) in list { fields[name.lowercased()] = value }
        guard var key = fields["key"], !key.isEmpty else {
            return refuse(
                .invalidArgument(
                    "Bucket POST must contain a field named 'key'. If it is specified, please check the order of the fields."
                ))
        }
        if let filename {
            let base = filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? filename
            key = key.split(separator: "${filename}", omittingEmptySubsequences: false).joined(separator: base)
        }
        fields["key"] = key
        let policy: PostPolicy?
        do throws(S3Error) {
            let signed = try PostPolicy.verifySignature(
                fields: fields, accessKey: api.accessKey, secretKey: api.secretKey, region: api.region)
            policy = signed ? try PostPolicy(base64: fields["policy"] ?? "") : nil
            try policy?.check(fields: fields, bucket: s3.bucket, now: .now())
        } catch {
            return refuse(error)
        }
        // The fields as the headers of a PUT: content type, metadata, stored headers, ACL.
        var headers = HTTPHeaders()
        for (name, value) in list where !["key", "policy", "file", "acl", "tagging"].contains(name.lowercased()) {
            headers.add(name, value)
        }
        if headers["Content-Type"] == nil, let fileType { headers.add("Content-Type", fileType) }
        if let acl = fields["acl"] { headers.add("x-amz-acl", acl) }
        var options = PutOptions()
        guard readObjectAttributes(into: &options, from: headers) else { return }
        if let tagging = fields["tagging"] {
            do {
                options.tags = try Tagging.parse(try XMLElement.parse(Array(tagging.utf8)))
            } catch {
                return refuse(.invalidTag("the tagging field is not a valid Tagging document: \(error)"))
            }
        }
        let write = { [self] in
            store(key: key, options: options, range: policy?.lengthRange, fields: fields, file: file)
        }
        guard policy == nil else { return write() }
        // An unsigned form: as far as the bucket's policy lets anyone upload.
        layer.requireBucket(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): refuse(S3Error.from(e))
            case .success(let info):
                let access = AnonymousAccess(
                    policy: info.settings.policy?.value, context: S3API.context(request, s3))
                guard access.allows("s3:PutObject", on: S3Request.arn(bucket: s3.bucket, key: key)) else {
                    return refuse(
                        .accessDenied(
                            "Access Denied: the form is not signed, and the bucket's policy does not let anyone upload \(key)."
                        ))
                }
                write()
            }
        }
    }

    private func store(
        key: String, options: PutOptions, range: ClosedRange<Int64>?, fields: [String: String], file: FormFileBody
    ) {
        file.isStarted = true
        layer.putObject(
            bucket: s3.bucket, key: key, options: options, body: file,
            verify: { [self] digests in
                guard let range, !range.contains(digests.size) else { return nil }
                let tooLarge = digests.size > range.upperBound
                rejection = S3Error(
                    tooLarge ? "EntityTooLarge" : "EntityTooSmall", 400,
                    "Your proposed upload \(tooLarge ? "exceeds the maximum" : "is smaller than the minimum") allowed size (\(digests.size) bytes; the policy allows \(range.lowerBound) to \(range.upperBound))."
                )
                return .badDigest("content-length-range")
            }
        ) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let version): answerPost(key: key, version: version, fields: fields)
            }
        }
    }

    /// The answer S3 gives a form upload: a redirect, or the status the form asked for (204 by default;
    /// 201 with a PostResponse document).
    private func answerPost(key: String, version: ObjectVersion, fields: [String: String]) {
        notify(
            "ObjectCreated:Post", bucket: s3.bucket, key: key, size: version.size, etag: version.etag,
            versionID: version.versionID)
        var headers = versionHeader(version)
        headers.add("ETag", "\"\(version.etag)\"")
        let location = "/\(s3.bucket)/" + URLEncoding.encode(key, keepSlash: true)
        if let redirect = fields["success_action_redirect"] ?? fields["redirect"], !redirect.isEmpty {
            let query = [("bucket", s3.bucket), ("key", key), ("etag", "\"\(version.etag)\"")]
                .map { "\($0.0)=\(URLEncoding.encode($0.1))" }.joined(separator: "&")
            headers.add("Location", redirect + (redirect.contains("?") ? "&" : "?") + query)
            return response.send(status: 303, headers: headers)
        }
        headers.add("Location", location)
        switch fields["success_action_status"] {
        case "200": response.send(status: 200, headers: headers)
        case "201":
            var w = XMLWriter()
            w.open("PostResponse")
            w.element("Location", location)
            w.element("Bucket", s3.bucket)
            w.element("Key", key)
            w.element("ETag", "\"\(version.etag)\"")
            w.close("PostResponse")
            sendXML(w.document, status: 201, headers: headers)
        default: response.send(status: 204, headers: headers)
        }
    }
}

/// The file of a form upload as the object layer reads a body: bytes the form parser found before
/// the write began are kept until it starts; pause and resume reach the connection.
final class FormFileBody: ObjectBody {
    let request: HTTPServerRequest
    /// The write was handed this body (from then on, it answers the request).
    var isStarted = false
    private var chunk: ((UnsafeRawBufferPointer) -> Void)?
    private var end: ((ObjectError?) -> Void)?
    private var early: [[UInt8]] = []
    private var ending: ObjectError??
    private var paused = false

    init(request: HTTPServerRequest) { self.request = request }

    func start(chunk: @escaping (UnsafeRawBufferPointer) -> Void, end: @escaping (ObjectError?) -> Void) {
        self.chunk = chunk
        self.end = end
        for bytes in early { bytes.withUnsafeBytes(chunk) }
        early = []
        if let ending { return end(ending) }
        if !paused { request.resumeBody() }
    }

    func deliver(_ bytes: [UInt8]) {
        if let chunk { bytes.withUnsafeBytes(chunk) } else { early.append(bytes) }
    }

    /// The file ended (nil) or cannot go on.
    func finish(_ error: ObjectError?) {
        guard ending == nil else { return }
        ending = .some(error)
        end?(error)
    }

    func pause() {
        paused = true
        request.pauseBody()
    }

    func resume() {
        paused = false
        request.resumeBody()
    }
}
