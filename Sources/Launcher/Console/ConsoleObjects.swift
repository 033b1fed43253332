import Admin
import Core
import HTTP
import S3

/// The console's object browser: listings and shard maps from a node's dashboard API (signed with the
/// cluster key), buckets made and objects deleted and uploaded through S3 (signed with the root
/// credentials), and presigned links a browser downloads from a node itself. Calls go to the first
/// node that answered the last probe, so the browser works while any node is down.
extension ConsoleServer {
    /// Longest validity of a share link (S3's own limit: 7 days).
    static let linkSecondsMax = SigV4.presignedExpiresMax
    /// Deadline of one object call (an upload's is per step: no progress for this long fails it).
    static let objectCallTimeout: Duration = .seconds(30)

    /// The node the next object call goes to.
    var target: HTTPEndpoint? { answering.first }

    /// `GET /api/buckets`, `/api/folder?bucket=&prefix=&after=`, `/api/shards?bucket=&key=` and the
    /// like: a node's dashboard API answer as is.
    func forwardToDashboard(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        guard let target else { return text(response, 503, "no node answers: start one") }
        let name = String(request.head.path.dropFirst("/api/".count))
        let path = AdminPaths.dashboardAPI + name + (request.head.query.map { "?" + $0 } ?? "")
        client.send(
            Probe.request("GET", path, key: launcher.key(record)), to: target, timeout: ConsoleServer.objectCallTimeout
        ) { [unowned self] result in
            switch result {
            case .success(let r):
                response.send(
                    status: r.status, headers: ["Content-Type": r.headers["Content-Type"] ?? "application/json"],
                    body: r.body)
            case .failure(let e): text(response, 502, "\(target) did not answer: \(e)")
            }
        }
    }

    /// `POST /api/link` `{bucket, key, versionId?, seconds}`: a presigned GET URL; `/api/bucket`
    /// `{name}`: a new bucket; `/api/delete-bucket` `{bucket}`: an empty bucket removed;
    /// `/api/versioning` `{bucket, status}`: versioning `Enabled` or `Suspended`; `/api/delete`
    /// `{bucket, key, versionId?}`: the object deleted (a delete marker where versioning is on), or
    /// one version of it for good.
    func objectCall(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        request.readBody(limit: 8 << 10) { [unowned self] result in
            guard case .success(let body) = result, let json = try? JSONValue.parse(body) else {
                return text(response, 400, "the body must be a JSON object")
            }
            guard let target else { return text(response, 503, "no node answers: start one") }
            let bucket = json["bucket"]?.stringValue ?? json["name"]?.stringValue ?? ""
            let key = json["key"]?.stringValue ?? ""
            let versionID = json["versionId"]?.stringValue ?? ""
            guard !bucket.isEmpty, !bucket.contains("/") else { return text(response, 400, "name a bucket") }
            let path =
                "/" + URLEncoding.encode(bucket) + (key.isEmpty ? "" : "/" + URLEncoding.encode(key, keepSlash: true))
            let version = versionID.isEmpty ? [] : [("versionId", versionID)]
            switch String(request.head.path) {
            case "/api/link":
                guard !key.isEmpty else { return text(response, 400, "name an object") }
                let seconds = Int(json["seconds"]?.intValue ?? 3600)
                guard (1...ConsoleServer.linkSecondsMax).contains(seconds) else {
                    return text(response, 400, "a link lasts 1 s to 7 days (\(ConsoleServer.linkSecondsMax) s)")
                }
                let signed = SigV4.presign(
                    method: "GET", path: path, query: version, host: target.hostHeader, expires: seconds,
                    accessKey: record.accessKey, secretKey: record.secretKey, region: record.region)
                sendJSON(response, .object([("url", .string(target.url + signed)), ("seconds", .int(Int64(seconds)))]))
            case "/api/bucket": s3("PUT", path, to: target, response)
            case "/api/delete-bucket": s3("DELETE", path, to: target, response)
            case "/api/versioning":
                guard let status = json["status"]?.stringValue, ["Enabled", "Suspended"].contains(status) else {
                    return text(response, 400, "versioning is Enabled or Suspended")
                }
                let document =
                    "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>\(status)</Status></VersioningConfiguration>"
                s3("PUT", path + "?versioning", body: Array(document.utf8), to: target, response)
            default:
                guard !key.isEmpty else { return text(response, 400, "name an object") }
                s3(
                    "DELETE", path + (versionID.isEmpty ? "" : "?" + QueryParameters(version).encoded), to: target,
                    response)
            }
        }
    }

    /// One S3 call, answered with 204 or the node's status and S3 error text.
    private func s3(
        _ method: String, _ path: String, body: [UInt8] = [], to target: HTTPEndpoint, _ response: HTTPServerResponse
    ) {
        s3(method, path, body: body, to: target, response) { _ in response.send(status: 204) }
    }

    /// One S3 call signed with the root credentials; `done` gets a node's answer below 300, anything
    /// else is answered here with the node's status and S3 error text.
    func s3(
        _ method: String, _ path: String, headers given: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
        to target: HTTPEndpoint, _ response: HTTPServerResponse, done: @escaping (HTTPClientResponse) -> Void
    ) {
        var headers = given
        SigV4.sign(
            method: method, target: path, headers: &headers, host: target.hostHeader,
            payloadHash: Crypto.sha256(body).hexString, accessKey: record.accessKey, secretKey: record.secretKey,
            region: record.region)
        client.send(
            HTTPClientRequest(method: method, target: path, headers: headers, body: body), to: target,
            timeout: ConsoleServer.objectCallTimeout
        ) { [unowned self] result in
            switch result {
            case .success(let r) where r.status < 300: done(r)
            case .success(let r): text(response, r.status, Launcher.s3ErrorText(r))
            case .failure(let e): text(response, 502, "\(target) did not answer: \(e)")
            }
        }
    }

    /// `PUT /api/upload?bucket=&key=`: the request body streamed to a node as one S3 PUT, a piece at a
    /// time (the browser's upload waits while the node takes each). With `&uploadId=&partNumber=` it is
    /// one part of a multipart upload (`/api/multipart`), answered with `{"etag"}`.
    func upload(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let query = QueryParameters(parsing: request.head.query) ?? QueryParameters()
        guard let bucket = query["bucket"], !bucket.isEmpty, let key = query["key"], !key.isEmpty else {
            return text(response, 400, "upload needs ?bucket=B&key=K")
        }
        guard let length = request.head.headers["Content-Length"].flatMap({ Int64($0) }) else {
            return text(response, 411, "an upload needs its Content-Length")
        }
        guard let target else { return text(response, 503, "no node answers: start one") }
        var path = "/" + URLEncoding.encode(bucket) + "/" + URLEncoding.encode(key, keepSlash: true)
        guard (query["uploadId"] == nil) == (query["partNumber"] == nil) else {
            return text(response, 400, "a part names both its uploadId and its partNumber")
        }
        let part = query["uploadId"].flatMap { id in query["partNumber"].map { (id, $0) } }
        if let (uploadID, number) = part {
            path += "?" + QueryParameters([("partNumber", number), ("uploadId", uploadID)]).encoded
        }
        var headers: HTTPHeaders = ["Content-Type": request.head.headers["Content-Type"] ?? "application/octet-stream"]
        SigV4.sign(
            method: "PUT", target: path, headers: &headers, host: target.hostHeader, accessKey: record.accessKey,
            secretKey: record.secretKey, region: record.region)
        var put = HTTPClientRequest(method: "PUT", target: path, headers: headers)
        put.body = .stream(length: length)
        var status = 0
        var etag = ""
        var answer: [UInt8] = []
        let task = client.execute(
            put, to: target, timeout: ConsoleServer.objectCallTimeout,
            handlers: HTTPResponseHandlers(
                head: {
                    status = $0.status
                    etag = $0.headers["ETag"] ?? ""
                },
                body: { bytes in
                    // An S3 error document is small; whatever else a node sends is not kept.
                    if answer.count < ConsoleServer.outputBytesMax { answer.append(contentsOf: bytes) }
                },
                end: { [unowned self] error in
                    if let error { return text(response, 502, "\(target): \(error)") }
                    guard status < 300 else {
                        return text(response, status, String(decoding: answer, as: UTF8.self))
                    }
                    guard part != nil else { return response.send(status: 204) }
                    sendJSON(response, .object([("etag", .string(etag))]))
                }))
        guard let task else { return }
        request.streamBody(
            chunk: { bytes in
                request.pauseBody()
                task.writeBody(ByteBuffer(copying: bytes)) { error in
                    if error == nil { request.resumeBody() }
                }
            },
            end: { error in
                if error != nil { task.cancel() } else { task.endBody() }
            })
    }
}
