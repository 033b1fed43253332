import Core
import FoundationEssentials
import HTTP
import Loop
import Storage

/// Answers the storage RPC of other nodes from this node's `LocalStore`. The router has already checked
/// the cluster signature. Loop-bound.
public final class StorageService {
    public let local: LocalStore
    /// Runs one call from its request body; answers exactly once, on the loop.
    typealias Handler = ([UInt8], @escaping (CallOutcome) -> Void) -> Void
    /// The handler of every `StorageCalls` call, by path.
    private var calls: [String: Handler] = [:]
    /// The paths of the calls served.
    var servedPaths: Set<String> { Set(calls.keys) }
    /// Largest body of a storage call (a commit carries inline data of up to 128 KiB per shard; a batch
    /// several calls).
    static let bodyBytesMax: Int64 = 16 << 20
    /// Staged data is written to disk in pieces of this size.
    static let stageWriteBytes = 1 << 20
    /// Shard ranges are streamed back in pieces of this size.
    static let readPieceBytes = 256 << 10
    /// Bytes of commits with shards held at once (each up to `LockedCommitRequest.shardBytesMax`).
    static let shardCommitBytesMax = 128 << 20
    private var shardCommitBytes = 0

    public init(local: LocalStore) {
        self.local = local
        serve(StorageCalls.makeBucket) { r, done in local.makeBucket(r, empty(done)) }
        serve(StorageCalls.deleteBucket) { r, done in local.deleteBucket(r.name, force: r.force ?? false, empty(done)) }
        serve(StorageCalls.bucketInfo) { r, done in local.bucketInfo(r.name, done) }
        serve(StorageCalls.listBuckets) { _, done in local.listBuckets(done) }
        serve(StorageCalls.setVersioning) { r, done in local.setVersioning(r.name, r.versioning ?? "", empty(done)) }
        serve(StorageCalls.changeSettings) { r, done in local.changeSettings(r.name, r.settings, empty(done)) }
        serve(StorageCalls.readMetadata) { r, done in local.readMetadata(bucket: r.bucket, key: r.key, done) }
        serve(StorageCalls.commit) { r, done in
            local.commit(
                bucket: r.bucket, key: r.key, version: r.version, stagedUploadID: r.stagedUploadID,
                multipartUploadID: r.multipartUploadID, releasing: r.releasing, done)
        }
        serve(StorageCalls.lockedCommit) { r, done in
            local.lockedCommit(
                bucket: r.bucket, key: r.key, version: r.version, shard: nil, owner: r.owner, ttl: r.ttl, done)
        }
        serve(StorageCalls.settle) { r, done in
            local.settle(bucket: r.bucket, key: r.key, write: r.write, undo: r.undo, empty(done))
        }
        serve(StorageCalls.setAttributes) { r, done in
            local.setAttributes(bucket: r.bucket, key: r.key, write: r.write, r.attributes, empty(done))
        }
        serve(StorageCalls.deleteVersion) { r, done in
            local.deleteVersion(bucket: r.bucket, key: r.key, versionID: r.versionID, empty(done))
        }
        serve(StorageCalls.list) { r, done in
            local.list(
                bucket: r.bucket, prefix: r.prefix, marker: r.marker, delimiter: r.delimiter,
                limit: min(r.limit, ListRequest.limitMax), done)
        }
        serve(StorageCalls.listVersions) { r, done in
            local.listVersions(
                bucket: r.bucket, prefix: r.prefix, from: r.marker, inclusive: r.inclusive, delimiter: r.delimiter,
                limit: min(r.limit, ListRequest.limitMax), done)
        }
        serve(StorageCalls.lock) { r, done in
            local.lock(r.op, resource: r.resource, owner: r.owner, ttl: r.ttl) { done($0.map(LockAnswer.init)) }
        }
        serve(StorageCalls.checkShard) { r, done in
            local.checkShard(bucket: r.bucket, key: r.key, version: r.version, done)
        }
        serve(StorageCalls.recordMissed) { entries, done in local.recordMissed(entries, empty(done)) }
        serve(StorageCalls.markMissedDone) { r, done in local.markMissedDone(r.ids, peer: NodeID(r.peer), empty(done)) }
        serve(StorageCalls.createUpload) { upload, done in local.createUpload(upload, empty(done)) }
        serve(StorageCalls.uploadState) { r, done in local.uploadState(r.uploadID, done) }
        serve(StorageCalls.commitPart) { r, done in
            local.commitPart(uploadID: r.uploadID, part: r.part, stagedUploadID: r.stagedUploadID, empty(done))
        }
        serve(StorageCalls.abortUpload) { r, done in local.abortUpload(r.uploadID, empty(done)) }
        serve(StorageCalls.listUploads) { r, done in local.listUploads(bucket: r.name, done) }
        serve(StorageCalls.abortStaging) { r, done in
            local.abortStaging(uploadID: r.uploadID)
            done(.success(Empty()))
        }
        let single = calls
        serve(StorageCalls.batch) { batch, done in
            var outcomes = [CallOutcome?](repeating: nil, count: batch.calls.count)
            var waiting = batch.calls.count
            guard waiting > 0 else { return done(.success(BatchAnswer(outcomes: []))) }
            for (i, call) in batch.calls.enumerated() {
                let finish: (CallOutcome) -> Void = { outcome in
                    outcomes[i] = outcome
                    waiting -= 1
                    if waiting == 0 { done(.success(BatchAnswer(outcomes: outcomes.map { $0! }))) }
                }
                guard let handler = single[call.path] else {
                    finish(.failed("no such storage call in a batch: \(call.path)"))
                    continue
                }
                handler(call.body, finish)
            }
        }
    }

    public func handle(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let path = String(request.head.path)
        if request.head.method == "POST", let call = calls[path] {
            return request.readBody(limit: StorageService.bodyBytesMax) { result in
                let bytes: [UInt8]
                switch result {
                case .failure(let error): return StorageService.refuse(response, error)
                case .success(let b): bytes = b
                }
                call(bytes) { StorageService.answer(response, $0) }
            }
        }
        switch (request.head.method, path) {
        case ("POST", StoragePaths.lockedCommitShard):
            lockedCommitWithShard(request, response)
        case ("PUT", StoragePaths.stage), ("GET", StoragePaths.shard):
            guard let query = QueryParameters(parsing: request.head.query) else {
                return StorageService.fail(response, .invalidObjectName(reason: "malformed query string"))
            }
            if request.head.method == "PUT" {
                guard let part = Int(query["part"] ?? "1") else {
                    return StorageService.fail(response, .invalidObjectName(reason: "bad part number"))
                }
                return stage(request, response, uploadID: query["upload"] ?? "", part: part)
            }
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

    /// Registers the handler of `call`: its body decoded as the call's request (a malformed one is
    /// refused naming what is wrong), its answer encoded as the call's answer.
    private func serve<Request, Answer>(
        _ call: StorageCall<Request, Answer>,
        _ work: @escaping (Request, @escaping (Result<Answer, StoreError>) -> Void) -> Void
    ) {
        calls[call.path] = { bytes, done in
            let body: Request
            do throws(BinaryError) {
                body = try Request(wire: bytes)
            } catch {
                return done(.storage(.invalidObjectName(reason: "malformed storage request: \(error)")))
            }
            work(body) { result in
                switch result {
                case .success(let answer): done(.answer(answer.wire))
                case .failure(.storage(let e)): done(.storage(e))
                case .failure(let e): done(.failed(e.description))
                }
            }
        }
    }

    /// Answers one call over HTTP: 200 with its answer, its error's status with the error, or 500.
    static func answer(_ response: HTTPServerResponse, _ outcome: CallOutcome) {
        switch outcome {
        case .answer(let bytes):
            response.send(status: 200, headers: ["Content-Type": "application/octet-stream"], body: bytes)
        case .storage(let e):
            fail(response, e)
        case .failed(let why):
            response.send(status: 500, headers: ["Content-Type": "text/plain"], body: Array((why + "\n").utf8))
        }
    }

    /// Answers a request whose body did not arrive whole, or is not the one signed (403).
    static func refuse(_ response: HTTPServerResponse, _ error: HTTPBodyError) {
        response.send(
            status: error.status, headers: ["Content-Type": "text/plain"], body: Array((error.description + "\n").utf8))
    }

    static func fail(_ response: HTTPServerResponse, _ error: StorageError) {
        response.send(
            status: error.httpStatus, headers: ["Content-Type": "application/json"],
            body: ErrorEnvelope(error: error).json)
    }

    /// `PUT stage?upload=ID`: writes the body to the staged shard file, holding the client back while
    /// more than two pieces wait for the disk, and answers once the file is fsynced.
    private func stage(_ request: HTTPServerRequest, _ response: HTTPServerResponse, uploadID: String, part: Int) {
        let writer = local.stage(uploadID: uploadID, part: part, length: request.payloadLength)
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
                    return StorageService.refuse(response, error)
                }
                flush()
                writer.finish { result in
                    switch result {
                    case .success where failure == nil:
                        StorageService.answer(response, .answer([]))
                    case .success:
                        writer.abort()
                        StorageService.answer(response, CallOutcome(failure!))
                    case .failure(let e):
                        writer.abort()
                        StorageService.answer(response, CallOutcome(e))
                    }
                }
            })
    }

    /// `POST commit/locked/shard`: the request's length and the request, then the shard, read straight
    /// into a buffer its file is written from (no copy on the way but the socket's). The buffers of such
    /// commits in progress are bounded (`shardCommitBytesMax`): past it a commit is refused as busy (503),
    /// which its writer counts as this node missing the write.
    private func lockedCommitWithShard(_ request: HTTPServerRequest, _ response: HTTPServerResponse) {
        let prefix = LockedCommitRequest.lengthPrefixBytes
        let lengthMax = prefix + LockedCommitRequest.headBytesMax + LockedCommitRequest.shardBytesMax
        guard let length = request.payloadLength, length > prefix, length <= Int64(lengthMax) else {
            return StorageService.fail(
                response, .invalidObjectName(reason: "a commit with a shard needs a length of at most \(lengthMax)"))
        }
        guard shardCommitBytes + Int(length) <= StorageService.shardCommitBytesMax else {
            return response.send(
                status: 503, headers: ["Content-Type": "text/plain"],
                body: Array("busy: \(shardCommitBytes) bytes of commits with shards are in progress\n".utf8))
        }
        shardCommitBytes += Int(length)
        var reserved = true
        let release = { [weak self] in
            if reserved { self?.shardCommitBytes -= Int(length) }
            reserved = false
        }
        var head: [UInt8] = []
        var headLength: Int?
        var shard: ByteBuffer?
        var malformed: String?
        request.streamBody(
            chunk: { bytes in
                var rest = bytes
                while !rest.isEmpty, malformed == nil {
                    if let shard {
                        let taken = shard.append(rest)
                        guard taken > 0 else {
                            malformed = "the body is longer than its commit request and shard"
                            return
                        }
                        rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                        continue
                    }
                    let wanted = (headLength.map { prefix + $0 } ?? prefix) - head.count
                    head += rest.prefix(wanted)
                    rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(wanted))
                    if headLength == nil, head.count == prefix {
                        let n = head.reduce(0) { $0 << 8 | Int($1) }
                        guard n <= LockedCommitRequest.headBytesMax, prefix + n < length else {
                            malformed = "a commit request of \(n) bytes in a body of \(length)"
                            return
                        }
                        headLength = n
                    }
                    if let n = headLength, head.count == prefix + n {
                        shard = LocalShardWriter.shardBuffer(for: Int(length) - prefix - n)
                    }
                }
            },
            end: { [local] error in
                if let error {
                    release()
                    return StorageService.refuse(response, error)
                }
                let r: LockedCommitRequest
                do throws(BinaryError) {
                    guard malformed == nil, shard != nil else {
                        throw BinaryError(malformed ?? "no shard after the commit request")
                    }
                    r = try LockedCommitRequest(wire: Array(head.dropFirst(prefix)))
                } catch {
                    release()
                    return StorageService.fail(
                        response, .invalidObjectName(reason: "malformed storage request: \(error)"))
                }
                local.lockedCommit(
                    bucket: r.bucket, key: r.key, version: r.version, shard: shard, owner: r.owner, ttl: r.ttl
                ) { result in
                    release()
                    switch result {
                    case .success(let answer): StorageService.answer(response, .answer(answer.wire))
                    case .failure(let e): StorageService.answer(response, CallOutcome(e))
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
                        StorageService.answer(response, CallOutcome(e))
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

/// A completion that answers an empty body for a call that succeeds with nothing.
private func empty(_ done: @escaping (Result<Empty, StoreError>) -> Void) -> (Result<Void, StoreError>) -> Void {
    { done($0.map { Empty() }) }
}

extension CallOutcome {
    init(_ error: StoreError) {
        if case .storage(let e) = error { self = .storage(e) } else { self = .failed(error.description) }
    }
}
