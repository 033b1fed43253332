import Core
import FoundationEssentials
import HTTP
import Loop
import Storage

/// Answers the storage RPC of other nodes from this node's `LocalStore`. The router has already checked
/// the cluster signature. Loop-bound.
public final class StorageService {
    public let local: LocalStore
    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()
    /// Largest JSON body of a storage call (a commit carries inline data of up to 128 KiB, in base64).
    static let bodyBytesMax: Int64 = 4 << 20
    /// Staged data is written to disk in pieces of this size.
    static let stageWriteBytes = 1 << 20
    /// Shard ranges are streamed back in pieces of this size.
    static let readPieceBytes = 256 << 10

    public init(local: LocalStore) {
        self.local = local
    }

    public func handle(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        guard let query = QueryParameters(parsing: request.head.query) else {
            return StorageService.fail(response, .invalidObjectName(reason: "malformed query string"))
        }
        switch (request.head.method, String(request.head.path)) {
        case ("POST", StoragePaths.makeBucket):
            json(request, response, BucketRequest.self) { [local] r, done in
                local.makeBucket(r.name, created: r.created ?? 0) { done($0.map(StorageService.empty)) }
            }
        case ("POST", StoragePaths.deleteBucket):
            json(request, response, BucketRequest.self) { [local] r, done in
                local.deleteBucket(r.name, force: r.force ?? false) { done($0.map(StorageService.empty)) }
            }
        case ("GET", StoragePaths.bucketInfo):
            local.bucketInfo(query["bucket"] ?? "") { StorageService.answer(response, $0) }
        case ("GET", StoragePaths.listBuckets):
            local.listBuckets { StorageService.answer(response, $0) }
        case ("GET", StoragePaths.metadata):
            local.readMetadata(bucket: query["bucket"] ?? "", key: query["key"] ?? "") {
                StorageService.answer(response, $0)
            }
        case ("POST", StoragePaths.commit):
            json(request, response, CommitRequest.self) { [local] r, done in
                local.commit(
                    bucket: r.bucket, key: r.key, version: r.version, stagedUploadID: r.stagedUploadID,
                    multipartUploadID: r.multipartUploadID, done)
            }
        case ("POST", StoragePaths.settle):
            json(request, response, SettleRequest.self) { [local] r, done in
                local.settle(bucket: r.bucket, key: r.key, write: r.write, undo: r.undo) {
                    done($0.map(StorageService.empty))
                }
            }
        case ("POST", StoragePaths.deleteVersion):
            json(request, response, DeleteVersionRequest.self) { [local] r, done in
                local.deleteVersion(bucket: r.bucket, key: r.key, versionID: r.versionID) {
                    done($0.map(StorageService.empty))
                }
            }
        case ("GET", StoragePaths.list):
            local.list(
                bucket: query["bucket"] ?? "", prefix: query["prefix"] ?? "", marker: query["marker"] ?? "",
                delimiter: query["delimiter"],
                limit: min(Int(query["limit"] ?? "") ?? 1000, 10_000)
            ) { StorageService.answer(response, $0) }
        case ("POST", StoragePaths.lock):
            json(request, response, LockRequest.self) { [local] r, done in
                local.lock(r.op, resource: r.resource, owner: r.owner, ttl: .milliseconds(max(1, min(r.ttlMs, 60_000))))
                {
                    done($0.map { LockAnswer(granted: $0) })
                }
            }
        case ("POST", StoragePaths.checkShard):
            json(request, response, CheckShardRequest.self) { [local] r, done in
                local.checkShard(bucket: r.bucket, key: r.key, version: r.version, done)
            }
        case ("POST", StoragePaths.recordMissed):
            json(request, response, [MissedEntry].self) { [local] entries, done in
                local.recordMissed(entries) { done($0.map(StorageService.empty)) }
            }
        case ("POST", StoragePaths.missedDone):
            json(request, response, MissedDoneRequest.self) { [local] r, done in
                local.markMissedDone(r.ids, peer: NodeID(r.peer)) { done($0.map(StorageService.empty)) }
            }
        case ("POST", StoragePaths.createUpload):
            json(request, response, MultipartUpload.self) { [local] upload, done in
                local.createUpload(upload) { done($0.map(StorageService.empty)) }
            }
        case ("GET", StoragePaths.uploadState):
            local.uploadState(query["upload"] ?? "") { StorageService.answer(response, $0) }
        case ("POST", StoragePaths.commitPart):
            json(request, response, CommitPartRequest.self) { [local] r, done in
                local.commitPart(uploadID: r.uploadID, part: r.part, stagedUploadID: r.stagedUploadID) {
                    done($0.map(StorageService.empty))
                }
            }
        case ("POST", StoragePaths.abortUpload):
            local.abortUpload(query["upload"] ?? "") { StorageService.answer(response, $0.map(StorageService.empty)) }
        case ("GET", StoragePaths.listUploads):
            local.listUploads(bucket: query["bucket"] ?? "") { StorageService.answer(response, $0) }
        case ("POST", StoragePaths.versioning):
            json(request, response, BucketInfo.self) { [local] r, done in
                local.setVersioning(r.name, r.versioning ?? "") { done($0.map(StorageService.empty)) }
            }
        case ("GET", StoragePaths.listVersions):
            local.listVersions(
                bucket: query["bucket"] ?? "", prefix: query["prefix"] ?? "", from: query["from"] ?? "",
                inclusive: query["inclusive"] == "1", delimiter: query["delimiter"],
                limit: min(Int(query["limit"] ?? "") ?? 1000, 10_000)
            ) { StorageService.answer(response, $0) }
        case ("PUT", StoragePaths.stage):
            stage(request, response, uploadID: query["upload"] ?? "", part: Int(query["part"] ?? "1") ?? 0)
        case ("POST", StoragePaths.abort):
            local.abortStaging(uploadID: query["upload"] ?? "")
            response.send(status: 204)
        case ("GET", StoragePaths.shard):
            guard let offset = Int64(query["offset"] ?? ""), let length = Int64(query["length"] ?? ""), offset >= 0,
                length >= 0, let part = Int(query["part"] ?? "1")
            else {
                return StorageService.fail(response, .invalidObjectName(reason: "a shard read needs offset and length"))
            }
            sendShard(
                response,
                local.openShard(
                    bucket: query["bucket"] ?? "", key: query["key"] ?? "", dataDir: query["dataDir"] ?? "",
                    part: part, offset: offset, length: length),
                length: length)
        default:
            response.send(
                status: 404, body: Array("no such storage call: \(request.head.method) \(request.head.path)\n".utf8))
        }
    }

    static func empty(_: Void) -> RemoteStore.Empty { RemoteStore.Empty() }

    private func json<Body: Decodable, Answer: Encodable>(
        _ request: HTTPServerRequest, _ response: HTTPServerResponse, _ type: Body.Type,
        _ work: @escaping (Body, @escaping (Result<Answer, StoreError>) -> Void) -> Void
    ) {
        request.readBody(limit: StorageService.bodyBytesMax) { result in
            guard case .success(let bytes) = result,
                let body = try? StorageService.decoder.decode(Body.self, from: Data(bytes))
            else {
                return StorageService.fail(response, .invalidObjectName(reason: "malformed storage request body"))
            }
            work(body) { StorageService.answer(response, $0) }
        }
    }

    static func answer<Answer: Encodable>(_ response: HTTPServerResponse, _ result: Result<Answer, StoreError>) {
        switch result {
        case .success(let value):
            let bytes = (try? encoder.encode(value)).map(Array.init) ?? []
            response.send(status: 200, headers: ["Content-Type": "application/json"], body: bytes)
        case .failure(.storage(let e)):
            fail(response, e)
        case .failure(let e):
            response.send(
                status: 500, headers: ["Content-Type": "text/plain"], body: Array((e.description + "\n").utf8))
        }
    }

    static func fail(_ response: HTTPServerResponse, _ error: StorageError) {
        let bytes = (try? encoder.encode(ErrorEnvelope(error: error))).map(Array.init) ?? []
        response.send(status: error.httpStatus, headers: ["Content-Type": "application/json"], body: bytes)
    }

    /// `PUT stage?upload=ID`: writes the body to the staged shard file, holding the client back while
    /// more than two pieces wait for the disk, and answers once the file is fsynced.
    private func stage(_ request: HTTPServerRequest, _ response: HTTPServerResponse, uploadID: String, part: Int) {
        let writer = local.stage(uploadID: uploadID, part: part, length: request.head.contentLength)
        var piece = ByteBuffer(capacity: StorageService.stageWriteBytes)
        var inFlight = 0
        var failure: StoreError?
        func flush() {
            guard piece.count > 0 else { return }
            let full = piece
            piece = ByteBuffer(capacity: StorageService.stageWriteBytes)
            inFlight += 1
            if inFlight >= 2 { request.pauseBody() }
            writer.write(full) { error in
                inFlight -= 1
                if let error, failure == nil { failure = error }
                request.resumeBody()
            }
        }
        request.streamBody(
            chunk: { bytes in
                guard failure == nil else { return }
                var rest = bytes
                while !rest.isEmpty {
                    let n = piece.append(rest)
                    rest = UnsafeRawBufferPointer(rebasing: rest[n...])
                    if piece.isFull { flush() }
                }
            },
            end: { error in
                if let error {
                    writer.abort()
                    return StorageService.fail(
                        response, .io(path: uploadID, errno: 0, operation: "receive staged shard: \(error)"))
                }
                flush()
                writer.finish { result in
                    switch result {
                    case .success where failure == nil:
                        response.send(
                            status: 200, headers: ["Content-Type": "application/json"], body: Array("{}".utf8))
                    case .success:
                        writer.abort()
                        StorageService.answer(response, Result<RemoteStore.Empty, StoreError>.failure(failure!))
                    case .failure(let e):
                        writer.abort()
                        StorageService.answer(response, Result<RemoteStore.Empty, StoreError>.failure(e))
                    }
                }
            })
    }

    /// `GET shard`: the range in pieces, each read after the previous one reached the socket. The first
    /// piece is read before the head is sent, so a missing file is a proper error, not a cut stream.
    private func sendShard(_ response: HTTPServerResponse, _ reader: ShardReader, length: Int64) {
        var remaining = length
        var started = false
        func next() {
            guard remaining > 0 else {
                if !started {
                    response.writeHead(
                        status: 200, headers: ["Content-Type": "application/octet-stream"], contentLength: 0)
                }
                reader.close()
                return response.end()
            }
            let n = Int(min(Int64(StorageService.readPieceBytes), remaining))
            reader.read(n) { result in
                switch result {
                case .failure(let e):
                    reader.close()
                    if started {
                        response.abortConnection()
                    } else {
                        StorageService.answer(response, Result<RemoteStore.Empty, StoreError>.failure(e))
                    }
                case .success(let piece):
                    if !started {
                        started = true
                        response.writeHead(
                            status: 200, headers: ["Content-Type": "application/octet-stream"], contentLength: length)
                    }
                    remaining -= Int64(piece.count)
                    response.write(piece) { error in
                        if error != nil { reader.close() } else { next() }
                    }
                }
            }
        }
        response.onAbort { reader.close() }
        next()
    }
}
