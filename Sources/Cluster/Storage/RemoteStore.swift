import Core
import FoundationEssentials
import HTTP
import Loop
import Storage

/// Another node's data folder, through the storage RPC over the pooled HTTP client. Loop-bound.
public final class RemoteStore: ShardStore {
    public let id: NodeID
    let endpoint: HTTPEndpoint
    let client: HTTPClient
    let key: ClusterKey
    let caller: String
    /// Deadline of a metadata call, and the no-progress limit of a shard stream.
    public static let callTimeout: Duration = .seconds(5)
    public static let streamTimeout: Duration = .seconds(10)
    /// A lock call is small and on the path of every write: a node slower than this is passed over.
    public static let lockTimeout: Duration = .seconds(1)
    /// A shard check reads the whole shard (up to 5 TiB / k in theory): generous, yet bounded.
    public static let checkTimeout: Duration = .seconds(60)

    public init(id: NodeID, endpoint: HTTPEndpoint, client: HTTPClient, key: ClusterKey, caller: NodeID) {
        self.id = id
        self.endpoint = endpoint
        self.client = client
        self.key = key
        self.caller = caller.rawValue
    }

    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()

    func target(_ path: String, _ query: QueryParameters) -> String {
        query.pairs.isEmpty ? path : path + "?" + query.encoded
    }

    func signed(_ method: String, _ target: String) -> HTTPHeaders {
        var h = key.sign(method: method, target: target, caller: caller)
        h.add("Content-Type", "application/json")
        return h
    }

    /// One call with a JSON body and a JSON (or empty) answer.
    func call<Answer: Decodable>(
        _ method: String, _ path: String, query: QueryParameters = .init(), body: (some Encodable)?,
        answer: Answer.Type, timeout: Duration = RemoteStore.callTimeout,
        _ done: @escaping (Result<Answer, StoreError>) -> Void
    ) {
        let target = target(path, query)
        let bytes = (try? body.map { try RemoteStore.encoder.encode($0) }).flatMap { $0.map(Array.init) } ?? []
        let request = HTTPClientRequest(
            method: method, target: target, headers: signed(method, target), body: bytes, isIdempotent: method == "GET")
        client.send(request, to: endpoint, timeout: timeout) { result in
            done(RemoteStore.decode(result, as: Answer.self))
        }
    }

    static func decode<Answer: Decodable>(
        _ result: Result<HTTPClientResponse, HTTPClientError>, as: Answer.Type
    ) -> Result<Answer, StoreError> {
        switch result {
        case .failure(let e):
            return .failure(.unreachable(e.description))
        case .success(let r) where (200..<300).contains(r.status):
            if Answer.self == Empty.self { return .success(Empty() as! Answer) }
            do {
                return .success(try decoder.decode(Answer.self, from: Data(r.body)))
            } catch {
                return .failure(.failed("unreadable answer: \(error)"))
            }
        case .success(let r):
            return .failure(errorFrom(r))
        }
    }

    static func errorFrom(_ r: HTTPClientResponse) -> StoreError {
        if let envelope = try? decoder.decode(ErrorEnvelope.self, from: Data(r.body)) {
            return .storage(envelope.error)
        }
        return .failed("HTTP \(r.status): \(r.bodyText.prefix(200))")
    }

    struct Empty: Codable {}

    public func makeBucket(_ name: String, created: Int64, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call("POST", StoragePaths.makeBucket, body: BucketRequest(name: name, created: created), answer: Empty.self) {
            done($0.map { _ in })
        }
    }

    public func deleteBucket(_ name: String, force: Bool, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call("POST", StoragePaths.deleteBucket, body: BucketRequest(name: name, force: force), answer: Empty.self) {
            done($0.map { _ in })
        }
    }

    public func bucketInfo(_ name: String, _ done: @escaping (Result<BucketInfo, StoreError>) -> Void) {
        call(
            "GET", StoragePaths.bucketInfo, query: QueryParameters([("bucket", name)]), body: Empty?.none,
            answer: BucketInfo.self, done)
    }

    public func listBuckets(_ done: @escaping (Result<[BucketInfo], StoreError>) -> Void) {
        call("GET", StoragePaths.listBuckets, body: Empty?.none, answer: [BucketInfo].self, done)
    }

    public func setVersioning(_ name: String, _ status: String, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(
            "POST", StoragePaths.versioning, body: BucketInfo(name: name, created: 0, versioning: status),
            answer: Empty.self
        ) {
            done($0.map { _ in })
        }
    }

    public func listVersions(
        bucket: String, prefix: String, from: String, inclusive: Bool, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void
    ) {
        var q = QueryParameters([
            ("bucket", bucket), ("prefix", prefix), ("from", from), ("inclusive", inclusive ? "1" : "0"),
            ("limit", String(limit)),
        ])
        if let delimiter { q.append("delimiter", delimiter) }
        call("GET", StoragePaths.listVersions, query: q, body: Empty?.none, answer: ListPage.self, done)
    }

    public func readMetadata(
        bucket: String, key: String, _ done: @escaping (Result<ObjectMetadata, StoreError>) -> Void
    ) {
        call(
            "GET", StoragePaths.metadata, query: QueryParameters([("bucket", bucket), ("key", key)]), body: Empty?.none,
            answer: ObjectMetadata.self, done)
    }

    public func commit(
        bucket: String, key: String, version: ObjectVersion, stagedUploadID: String?, multipartUploadID: String?,
        _ done: @escaping (Result<CommitReceipt, StoreError>) -> Void
    ) {
        let body = CommitRequest(
            bucket: bucket, key: key, version: version, stagedUploadID: stagedUploadID,
            multipartUploadID: multipartUploadID)
        call("POST", StoragePaths.commit, body: body, answer: CommitReceipt.self, done)
    }

    public func lock(
        _ op: LockOp, resource: String, owner: String, ttl: Duration,
        _ done: @escaping (Result<Bool, StoreError>) -> Void
    ) {
        let body = LockRequest(op: op, resource: resource, owner: owner, ttlMs: ttl.milliseconds)
        call("POST", StoragePaths.lock, body: body, answer: LockAnswer.self, timeout: RemoteStore.lockTimeout) {
            done($0.map(\.granted))
        }
    }

    public func checkShard(
        bucket: String, key: String, version: ObjectVersion, _ done: @escaping (Result<ShardCheck, StoreError>) -> Void
    ) {
        let body = CheckShardRequest(bucket: bucket, key: key, version: version)
        call(
            "POST", StoragePaths.checkShard, body: body, answer: ShardCheck.self, timeout: RemoteStore.checkTimeout,
            done)
    }

    public func recordMissed(_ entries: [MissedEntry], _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call("POST", StoragePaths.recordMissed, body: entries, answer: Empty.self) { done($0.map { _ in }) }
    }

    public func markMissedDone(
        _ ids: [String], peer: NodeID, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        let body = MissedDoneRequest(ids: ids, peer: peer.rawValue)
        call("POST", StoragePaths.missedDone, body: body, answer: Empty.self) { done($0.map { _ in }) }
    }

    public func createUpload(_ upload: MultipartUpload, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call("POST", StoragePaths.createUpload, body: upload, answer: Empty.self) { done($0.map { _ in }) }
    }

    public func uploadState(_ uploadID: String, _ done: @escaping (Result<UploadState, StoreError>) -> Void) {
        call(
            "GET", StoragePaths.uploadState, query: QueryParameters([("upload", uploadID)]), body: Empty?.none,
            answer: UploadState.self, done)
    }

    public func commitPart(
        uploadID: String, part: PartInfo, stagedUploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        let body = CommitPartRequest(uploadID: uploadID, part: part, stagedUploadID: stagedUploadID)
        call("POST", StoragePaths.commitPart, body: body, answer: Empty.self) { done($0.map { _ in }) }
    }

    public func abortUpload(_ uploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(
            "POST", StoragePaths.abortUpload, query: QueryParameters([("upload", uploadID)]), body: Empty?.none,
            answer: Empty.self
        ) { done($0.map { _ in }) }
    }

    public func listUploads(bucket: String, _ done: @escaping (Result<[MultipartUpload], StoreError>) -> Void) {
        call(
            "GET", StoragePaths.listUploads, query: QueryParameters([("bucket", bucket)]), body: Empty?.none,
            answer: [MultipartUpload].self, done)
    }

    public func settle(
        bucket: String, key: String, write: ObjectVersion, undo: Bool,
        _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        let body = SettleRequest(bucket: bucket, key: key, write: write, undo: undo)
        call("POST", StoragePaths.settle, body: body, answer: Empty.self) { done($0.map { _ in }) }
    }

    public func deleteVersion(
        bucket: String, key: String, versionID: String, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        call(
            "POST", StoragePaths.deleteVersion,
            body: DeleteVersionRequest(bucket: bucket, key: key, versionID: versionID), answer: Empty.self
        ) {
            done($0.map { _ in })
        }
    }

    public func list(
        bucket: String, prefix: String, marker: String, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void
    ) {
        var q = QueryParameters([("bucket", bucket), ("prefix", prefix), ("marker", marker), ("limit", String(limit))])
        if let delimiter { q.append("delimiter", delimiter) }
        call("GET", StoragePaths.list, query: q, body: Empty?.none, answer: ListPage.self, done)
    }

    public func stage(uploadID: String, part: Int, length: Int64?) -> ShardWriter {
        RemoteShardWriter(store: self, uploadID: uploadID, part: part, length: length)
    }

    public func openShard(
        bucket: String, key: String, dataDir: String, part: Int, offset: Int64, length: Int64
    ) -> ShardReader {
        let q = QueryParameters([
            ("bucket", bucket), ("key", key), ("dataDir", dataDir), ("part", String(part)), ("offset", String(offset)),
            ("length", String(length)),
        ])
        return RemoteShardReader(store: self, target: target(StoragePaths.shard, q))
    }
}

/// Streams frames to another node's staging area in one PUT.
final class RemoteShardWriter: ShardWriter {
    let store: RemoteStore
    let uploadID: String
    private var task: HTTPClientTask?
    private var outcome: Result<Void, StoreError>?
    private var finishing: ((Result<Void, StoreError>) -> Void)?

    init(store: RemoteStore, uploadID: String, part: Int, length: Int64?) {
        self.store = store
        self.uploadID = uploadID
        let target = store.target(StoragePaths.stage, QueryParameters([("upload", uploadID), ("part", String(part))]))
        var headers = store.key.sign(method: "PUT", target: target, caller: store.caller)
        headers.add("Content-Type", "application/octet-stream")
        let request = HTTPClientRequest(method: "PUT", target: target, headers: headers, streamedBodyLength: length)
        task = store.client.send(request, to: store.endpoint, timeout: RemoteStore.streamTimeout) {
            [weak self] result in
            guard let self else { return }
            self.outcome = RemoteStore.decode(result, as: RemoteStore.Empty.self).map { _ in }
            if let finishing = self.finishing {
                self.finishing = nil
                finishing(self.outcome!)
            }
        }
        if task == nil && outcome == nil { outcome = .failure(.unreachable("the request could not be started")) }
    }

    func write(_ frame: ByteBuffer, _ done: @escaping (StoreError?) -> Void) {
        if case .failure(let e) = outcome { return done(e) }
        guard let task else { return done(.failed("no stream")) }
        task.writeBody(frame) { [weak self] error in
            guard error != nil else { return done(nil) }
            if case .failure(let e) = self?.outcome { done(e) } else { done(.unreachable(error!.description)) }
        }
    }

    func finish(_ done: @escaping (Result<Void, StoreError>) -> Void) {
        if let outcome { return done(outcome) }
        finishing = done
        task?.endBody()
    }

    func abort() {
        task?.cancel()
        task = nil
        // Tell the node to drop whatever it staged (best effort: it also cleans its staging area at start).
        store.call(
            "POST", StoragePaths.abort, query: QueryParameters([("upload", uploadID)]), body: RemoteStore.Empty?.none,
            answer: RemoteStore.Empty.self
        ) { _ in }
    }
}

/// Reads a shard range from another node as one streamed GET, holding at most `highWater` bytes.
final class RemoteShardReader: ShardReader {
    static let highWater = 4 << 20

    private var task: HTTPClientTask?
    private var buffered: [UInt8] = []
    private var start = 0
    private var status: Int?
    private var errorBody: [UInt8] = []
    private var ended: StoreError??
    private var waiting: [(Int, (Result<ByteBuffer, StoreError>) -> Void)] = []

    init(store: RemoteStore, target: String) {
        let request = HTTPClientRequest(method: "GET", target: target, headers: store.signed("GET", target))
        task = store.client.execute(
            request, to: store.endpoint, timeout: RemoteStore.streamTimeout,
            handlers: HTTPResponseHandlers(
                head: { [weak self] head in self?.status = head.status },
                body: { [weak self] bytes in self?.received(bytes) },
                end: { [weak self] error in self?.finished(error) }))
    }

    private var available: Int { buffered.count - start }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard status == 200 else {
            if errorBody.count < 64 << 10 { errorBody.append(contentsOf: bytes) }
            return
        }
        if start > 0 && start >= buffered.count / 2 {
            buffered.removeFirst(start)
            start = 0
        }
        buffered.append(contentsOf: bytes)
        if available >= RemoteShardReader.highWater { task?.pauseResponse() }
        serve()
    }

    private func finished(_ error: HTTPClientError?) {
        if let error {
            ended = .some(.unreachable(error.description))
        } else if status != 200 {
            ended = .some(RemoteStore.errorFrom(HTTPClientResponse(status: status ?? 0, headers: [:], body: errorBody)))
        } else {
            ended = .some(nil)
        }
        serve()
    }

    private func serve() {
        while let (bytes, done) = waiting.first {
            if available >= bytes {
                waiting.removeFirst()
                let out = ByteBuffer(capacity: bytes)
                _ = buffered.withUnsafeBytes {
                    out.append(UnsafeRawBufferPointer(rebasing: $0[start..<(start + bytes)]))
                }
                start += bytes
                if available < RemoteShardReader.highWater / 2 { task?.resumeResponse() }
                done(.success(out))
            } else if let ended {
                waiting.removeFirst()
                done(.failure(ended ?? .failed("the shard stream ended early")))
            } else {
                return
            }
        }
    }

    func read(_ bytes: Int, _ done: @escaping (Result<ByteBuffer, StoreError>) -> Void) {
        waiting.append((bytes, done))
        serve()
    }

    func close() {
        if let task, !task.isFinished { task.cancel() }
        task = nil
        buffered = []
    }
}
