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
    let traffic: InternodeTraffic
    /// Deadline of a metadata call, and the no-progress limit of a shard stream.
    public static let callTimeout: Duration = .seconds(5)
    public static let streamTimeout: Duration = .seconds(10)

    public init(
        id: NodeID, endpoint: HTTPEndpoint, client: HTTPClient, key: ClusterKey, caller: NodeID,
        traffic: InternodeTraffic
    ) {
        self.id = id
        self.endpoint = endpoint
        self.client = client
        self.key = key
        self.caller = caller.rawValue
        self.traffic = traffic
    }

    static let decoder = JSONDecoder()

    /// The nonce of the next request signed for this node.
    func nextNonce() -> RequestNonce { RequestNonce.next(to: endpoint.description) }

    func target(_ path: String, _ query: QueryParameters) -> String {
        query.pairs.isEmpty ? path : path + "?" + query.encoded
    }

    /// Requests in flight to this node at once, normally; calls made meanwhile wait and leave together
    /// as one batch when the request comes back. Under load this carries several calls per request
    /// (each request costs both nodes a wake-up, system calls and parsing); a lone call goes out at once.
    static let requestsInFlightMax = 1
    /// A call waits at most this long for the request in flight: then it goes anyway, in a request of
    /// its own (so a stalled node delays the calls behind it by this much, not by a timeout).
    static let queueWaitMax: Duration = .milliseconds(10)
    /// Calls waiting at once, at most; past it a call fails at once (the node is not keeping up).
    static let queuedCallsMax = 4096
    /// A deferred call (a lock release) waits this long at most for other calls to go with: under load
    /// it rides in their batch for free; on an idle link it goes on its own.
    static let deferredWaitMax: Duration = .milliseconds(2)
    private var inFlight = 0
    private var queued: [QueuedCall] = []
    /// Armed while calls wait: sends them when they have waited `queueWaitMax`.
    private var flushTimer: Timer?
    /// Set by `close`: a call made after it (by a write settling as the node stops) fails at once
    /// rather than arming a timer nobody will close.
    private var isClosed = false
    private static let stopping = StoreError.unreachable("this node is stopping")

    struct QueuedCall {
        let path: String
        let body: [UInt8]
        let queuedAt: Instant
        let deadline: Instant
        let isIdempotent: Bool
        /// Waits for company (`deferredWaitMax`) rather than being sent at once.
        let isDeferred: Bool
        /// The node's outcome, or why there was none.
        let done: (Result<CallOutcome, StoreError>) -> Void
    }

    /// One storage call (see `StorageCalls`); a `deferred` one waits for others to go with.
    func call<Request, Answer>(
        _ call: StorageCall<Request, Answer>, _ body: Request, deferred: Bool = false,
        _ done: @escaping (Result<Answer, StoreError>) -> Void
    ) {
        guard !isClosed else { return done(.failure(RemoteStore.stopping)) }
        guard queued.count < RemoteStore.queuedCallsMax else {
            return done(.failure(.unreachable("\(RemoteStore.queuedCallsMax) calls already wait for \(id)")))
        }
        traffic.call(call.path.dropFirst(StoragePaths.prefix.count))
        queued.append(
            QueuedCall(
                path: call.path, body: body.wire, queuedAt: client.loop.iterationTime,
                deadline: client.loop.iterationTime + call.timeout,
                isIdempotent: call.isIdempotent, isDeferred: deferred
            ) { outcome in
                done(RemoteStore.decode(outcome, as: Answer.self))
            })
        sendQueued(force: false)
    }

    /// Sends what waits while there is room (or once, `force`d, when it has waited long enough): one
    /// call as itself, several as a batch. Calls whose deadline passed while waiting fail unsent.
    private func sendQueued(force: Bool) {
        let now = client.loop.iterationTime
        if queued.contains(where: { $0.deadline <= now }) {
            let expired = queued.filter { $0.deadline <= now }
            queued.removeAll { $0.deadline <= now }
            for c in expired { c.done(.failure(.unreachable("timed out waiting to be sent to \(id)"))) }
        }
        var forced = force
        // Deferred calls alone wait for company, up to their limit.
        if !forced, let oldest = queued.first, queued.allSatisfy(\.isDeferred),
            now.since(oldest.queuedAt) < RemoteStore.deferredWaitMax
        {
            return armFlush()
        }
        while (inFlight < RemoteStore.requestsInFlightMax || forced) && !queued.isEmpty {
            forced = false
            let calls = Array(queued.prefix(BatchRequest.callsMax))
            queued.removeFirst(calls.count)
            inFlight += 1
            let finished: () -> Void = { [weak self] in
                guard let self else { return }
                self.inFlight -= 1
                self.sendQueued(force: false)
            }
            let timeout = calls.map { $0.deadline.since(now) }.max()!
            if calls.count == 1 {
                let c = calls[0]
                post(c.path, c.body, timeout: timeout, idempotent: c.isIdempotent) { outcome in
                    finished()
                    c.done(outcome)
                }
                continue
            }
            let batch = BatchRequest(calls: calls.map { ($0.path, $0.body) })
            post(
                StorageCalls.batch.path, batch.wire, timeout: timeout, idempotent: calls.allSatisfy(\.isIdempotent)
            ) { outcome in
                finished()
                let outcomes: [Result<CallOutcome, StoreError>]
                switch outcome {
                case .success(.answer(let bytes)):
                    do throws(BinaryError) {
                        let answers = try BatchAnswer(wire: bytes).outcomes
                        guard answers.count == calls.count else {
                            throw BinaryError("the batch answer has \(answers.count) of \(calls.count) answers")
                        }
                        outcomes = answers.map { .success($0) }
                    } catch {
                        outcomes = Array(
                            repeating: .failure(.failed("unreadable batch answer: \(error)")), count: calls.count)
                    }
                default:
                    // The batch itself failed (no answer, or refused whole): so did each of its calls.
                    outcomes = Array(repeating: outcome, count: calls.count)
                }
                for (c, o) in zip(calls, outcomes) { c.done(o) }
            }
        }
        armFlush()
    }

    /// A timer while calls wait, none otherwise (it never keeps the loop alive). Without one (libuv
    /// refused it), waiting calls go at once.
    private func armFlush() {
        guard !queued.isEmpty else {
            flushTimer?.close()
            flushTimer = nil
            return
        }
        guard flushTimer == nil else { return }
        guard let timer = try? Timer(loop: client.loop, label: "storage calls to \(id)") else {
            return sendQueued(force: true)
        }
        timer.unref()
        flushTimer = timer
        let tick = RemoteStore.deferredWaitMax
        timer.start(after: tick, repeating: tick) { [weak self] in
            guard let self, let oldest = self.queued.first else { return }
            self.sendQueued(force: self.client.loop.iterationTime.since(oldest.queuedAt) >= RemoteStore.queueWaitMax)
        }
    }

    /// One signed POST: the node's outcome, or `.unreachable` when it did not answer (the call may or
    /// may not have run).
    private func post(
        _ path: String, _ body: [UInt8], timeout: Duration, idempotent: Bool,
        _ done: @escaping (Result<CallOutcome, StoreError>) -> Void
    ) {
        traffic.request()
        var headers = key.sign(method: "POST", target: path, caller: caller, body: body, nonce: nextNonce())
        headers.add("Content-Type", "application/octet-stream")
        let request = HTTPClientRequest(
            method: "POST", target: path, headers: headers, body: body, isIdempotent: idempotent)
        client.send(request, to: endpoint, timeout: timeout) { result in
            switch result {
            case .failure(let e): done(.failure(.unreachable(e.description)))
            case .success(let r) where (200..<300).contains(r.status): done(.success(.answer(r.body)))
            case .success(let r):
                switch RemoteStore.errorFrom(r) {
                case .storage(let e): done(.success(.storage(e)))
                case let other: done(.failure(other))
                }
            }
        }
    }

    static func decode<Answer: WireMessage>(
        _ outcome: Result<CallOutcome, StoreError>, as: Answer.Type
    ) -> Result<Answer, StoreError> {
        switch outcome {
        case .success(.answer(let bytes)):
            do throws(BinaryError) {
                return .success(try Answer(wire: bytes))
            } catch {
                return .failure(.failed("unreadable answer: \(error)"))
            }
        case .success(.storage(let e)): return .failure(.storage(e))
        case .success(.failed(let why)): return .failure(.failed(why))
        case .failure(let e): return .failure(e)
        }
    }

    static func decode<Answer: WireMessage>(
        _ result: Result<HTTPClientResponse, HTTPClientError>, as: Answer.Type
    ) -> Result<Answer, StoreError> {
        switch result {
        case .failure(let e):
            return .failure(.unreachable(e.description))
        case .success(let r) where (200..<300).contains(r.status):
            return decode(.success(.answer(r.body)), as: Answer.self)
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

    public func makeBucket(_ info: BucketInfo, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(StorageCalls.makeBucket, info) { done($0.map { _ in }) }
    }

    public func deleteBucket(_ name: String, force: Bool, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(StorageCalls.deleteBucket, BucketRequest(name: name, force: force)) { done($0.map { _ in }) }
    }

    public func bucketInfo(_ name: String, _ done: @escaping (Result<BucketInfo, StoreError>) -> Void) {
        call(StorageCalls.bucketInfo, BucketRequest(name: name), done)
    }

    public func listBuckets(_ done: @escaping (Result<[BucketInfo], StoreError>) -> Void) {
        call(StorageCalls.listBuckets, Empty(), done)
    }

    public func setVersioning(_ name: String, _ status: String, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(StorageCalls.setVersioning, BucketInfo(name: name, created: 0, versioning: status)) {
            done($0.map { _ in })
        }
    }

    public func changeSettings(
        _ name: String, _ change: BucketSettings, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        call(StorageCalls.changeSettings, BucketInfo(name: name, created: 0, settings: change)) {
            done($0.map { _ in })
        }
    }

    public func listVersions(
        bucket: String, prefix: String, from: String, inclusive: Bool, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void
    ) {
        let request = ListRequest(
            bucket: bucket, prefix: prefix, marker: from, delimiter: delimiter, limit: limit, inclusive: inclusive)
        call(StorageCalls.listVersions, request, done)
    }

    public func readMetadata(
        bucket: String, key: String, _ done: @escaping (Result<ObjectMetadata, StoreError>) -> Void
    ) {
        call(StorageCalls.readMetadata, ObjectRef(bucket: bucket, key: key), done)
    }

    public func commit(
        bucket: String, key: String, version: ObjectVersion, stagedUploadID: String?, multipartUploadID: String?,
        releasing: LockRelease?, _ done: @escaping (Result<CommitReceipt, StoreError>) -> Void
    ) {
        let body = CommitRequest(
            bucket: bucket, key: key, version: version, stagedUploadID: stagedUploadID,
            multipartUploadID: multipartUploadID, releasing: releasing)
        call(StorageCalls.commit, body, done)
    }

    public func lock(
        _ op: LockOp, resource: String, owner: String, ttl: Duration,
        _ done: @escaping (Result<Bool, StoreError>) -> Void
    ) {
        call(StorageCalls.lock, LockRequest(op: op, resource: resource, owner: owner, ttl: ttl)) {
            done($0.map(\.granted))
        }
    }

    public func lockedCommit(
        bucket: String, key: String, version: ObjectVersion, shard: ByteBuffer?, owner: String, ttl: Duration,
        _ done: @escaping (Result<LockedCommitAnswer, StoreError>) -> Void
    ) {
        let body = LockedCommitRequest(bucket: bucket, key: key, version: version, owner: owner, ttl: ttl)
        guard let shard else { return call(StorageCalls.lockedCommit, body, done) }
        guard !isClosed else { return done(.failure(RemoteStore.stopping)) }
        // With a shard: a request of its own (never batched), the shard written from its buffer.
        let path = StoragePaths.lockedCommitShard
        traffic.call(path.dropFirst(StoragePaths.prefix.count))
        traffic.request()
        let head = body.shardRequestHead()
        let signer = self.key.signer(method: "POST", target: path, caller: caller, nonce: nextNonce())
        signer.update(head.bytes)
        signer.update(shard.bytes)
        var headers = signer.headers()
        headers.add("Content-Type", "application/octet-stream")
        let request = HTTPClientRequest(
            method: "POST", target: path, headers: headers, streamedBodyLength: Int64(head.count + shard.count))
        // The call's own deadline (not a stream's): `LockedCommit.ttl` counts on it.
        let task = client.send(request, to: endpoint, timeout: StorageCalls.lockedCommit.timeout) { result in
            done(RemoteStore.decode(result, as: LockedCommitAnswer.self))
        }
        guard let task else { return }
        task.writeBody(head)
        task.writeBody(shard)
        task.endBody()
    }

    public func close() {
        isClosed = true
        let waiting = queued
        queued = []
        flushTimer?.close()
        flushTimer = nil
        for c in waiting { c.done(.failure(RemoteStore.stopping)) }
    }

    public func releaseSoon(resource: String, owner: String) {
        let release = LockRequest(op: .release, resource: resource, owner: owner, ttl: ObjectLock.ttl)
        call(StorageCalls.lock, release, deferred: true) { _ in }
    }

    public func checkShard(
        bucket: String, key: String, version: ObjectVersion, _ done: @escaping (Result<ShardCheck, StoreError>) -> Void
    ) {
        call(StorageCalls.checkShard, CheckShardRequest(bucket: bucket, key: key, version: version), done)
    }

    public func recordMissed(_ entries: [MissedEntry], _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(StorageCalls.recordMissed, entries) { done($0.map { _ in }) }
    }

    public func markMissedDone(
        _ ids: [String], peer: NodeID, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        call(StorageCalls.markMissedDone, MissedDoneRequest(ids: ids, peer: peer.rawValue)) { done($0.map { _ in }) }
    }

    public func createUpload(_ upload: MultipartUpload, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(StorageCalls.createUpload, upload) { done($0.map { _ in }) }
    }

    public func uploadState(_ uploadID: String, _ done: @escaping (Result<UploadState, StoreError>) -> Void) {
        call(StorageCalls.uploadState, UploadRef(uploadID: uploadID), done)
    }

    public func commitPart(
        uploadID: String, part: PartInfo, stagedUploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        let body = CommitPartRequest(uploadID: uploadID, part: part, stagedUploadID: stagedUploadID)
        call(StorageCalls.commitPart, body) { done($0.map { _ in }) }
    }

    public func abortUpload(_ uploadID: String, _ done: @escaping (Result<Void, StoreError>) -> Void) {
        call(StorageCalls.abortUpload, UploadRef(uploadID: uploadID)) { done($0.map { _ in }) }
    }

    public func listUploads(bucket: String, _ done: @escaping (Result<[MultipartUpload], StoreError>) -> Void) {
        call(StorageCalls.listUploads, BucketRequest(name: bucket), done)
    }

    public func settle(
        bucket: String, key: String, write: ObjectVersion, undo: Bool,
        _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        call(StorageCalls.settle, SettleRequest(bucket: bucket, key: key, write: write, undo: undo)) {
            done($0.map { _ in })
        }
    }

    public func setAttributes(
        bucket: String, key: String, write: ObjectVersion, _ attributes: VersionAttributes,
        _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        let body = AttributesRequest(bucket: bucket, key: key, write: write, attributes: attributes)
        call(StorageCalls.setAttributes, body) { done($0.map { _ in }) }
    }

    public func deleteVersion(
        bucket: String, key: String, versionID: String, _ done: @escaping (Result<Void, StoreError>) -> Void
    ) {
        call(StorageCalls.deleteVersion, DeleteVersionRequest(bucket: bucket, key: key, versionID: versionID)) {
            done($0.map { _ in })
        }
    }

    public func list(
        bucket: String, prefix: String, marker: String, delimiter: String?, limit: Int,
        _ done: @escaping (Result<ListPage, StoreError>) -> Void
    ) {
        call(
            StorageCalls.list,
            ListRequest(bucket: bucket, prefix: prefix, marker: marker, delimiter: delimiter, limit: limit), done)
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
    /// The stream's body tag, sent as its last bytes.
    private let signer: RequestSigner

    init(store: RemoteStore, uploadID: String, part: Int, length: Int64?) {
        self.store = store
        self.uploadID = uploadID
        let target = store.target(StoragePaths.stage, QueryParameters([("upload", uploadID), ("part", String(part))]))
        store.traffic.call("stage")
        store.traffic.request()
        signer = store.key.signer(method: "PUT", target: target, caller: store.caller, nonce: store.nextNonce())
        var headers = signer.streamHeaders()
        headers.add("Content-Type", "application/octet-stream")
        let request = HTTPClientRequest(
            method: "PUT", target: target, headers: headers,
            streamedBodyLength: length.map { $0 + Int64(Poly1305.tagBytes) })
        task = store.client.send(request, to: store.endpoint, timeout: RemoteStore.streamTimeout) {
            [weak self] result in
            guard let self else { return }
            self.outcome = RemoteStore.decode(result, as: Empty.self).map { _ in }
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
        signer.update(frame.bytes)
        task.writeBody(frame) { [weak self] error in
            guard error != nil else { return done(nil) }
            if case .failure(let e) = self?.outcome { done(e) } else { done(.unreachable(error!.description)) }
        }
    }

    func finish(_ done: @escaping (Result<Void, StoreError>) -> Void) {
        if let outcome { return done(outcome) }
        finishing = done
        task?.writeBody(ByteBuffer(signer.tag()))
        task?.endBody()
    }

    func abort() {
        task?.cancel()
        task = nil
        // Tell the node to drop whatever it staged (best effort: it also cleans its staging area at start).
        store.call(StorageCalls.abortStaging, UploadRef(uploadID: uploadID)) { _ in }
    }
}

/// Reads a shard range from another node as one streamed GET, holding at most `highWater` bytes. Bytes
/// go from the socket straight into the buffer of the read waiting for them; bytes that arrive ahead of
/// the reads are kept in buffers the size of the last read, so that when the next read asks for that
/// size (the next frame) it takes a full one as it is, without a second copy.
final class RemoteShardReader: ShardReader {
    static let highWater = 4 << 20
    /// Size of the buffers that hold bytes ahead of the reads, before the first read says better.
    static let aheadPieceBytes = 256 << 10

    private var task: HTTPClientTask?
    private var status: Int?
    private var errorBody: [UInt8] = []
    private var ended: StoreError??
    /// Reads not yet served, oldest first: the first fills as bytes arrive.
    private var waiting: [(buffer: ByteBuffer, done: (Result<ByteBuffer, StoreError>) -> Void)] = []
    /// Bytes that arrived before a read asked for them, in order; the first may be partly taken.
    private var ahead: [ByteBuffer] = []
    private var aheadStart = 0
    private var aheadBytes = 0
    private var pieceBytes = RemoteShardReader.aheadPieceBytes

    init(store: RemoteStore, target: String) {
        store.traffic.call("shard")
        store.traffic.request()
        let request = HTTPClientRequest(
            method: "GET", target: target,
            headers: store.key.sign(method: "GET", target: target, caller: store.caller, nonce: store.nextNonce()))
        task = store.client.execute(
            request, to: store.endpoint, timeout: RemoteStore.streamTimeout,
            handlers: HTTPResponseHandlers(
                head: { [weak self] head in self?.status = head.status },
                body: { [weak self] bytes in self?.received(bytes) },
                end: { [weak self] error in self?.finished(error) }))
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard status == 200 else {
            if errorBody.count < 64 << 10 { errorBody.append(contentsOf: bytes) }
            return
        }
        var rest = bytes
        // Straight into the waiting reads when nothing is ahead of them (bytes stay in order).
        while !rest.isEmpty, ahead.isEmpty, let first = waiting.first {
            rest = UnsafeRawBufferPointer(rebasing: rest[first.buffer.append(rest)...])
            if first.buffer.isFull {
                waiting.removeFirst()
                first.done(.success(first.buffer))
            }
        }
        while !rest.isEmpty {
            if ahead.last?.isFull ?? true { ahead.append(ByteBuffer(capacity: pieceBytes)) }
            let n = ahead[ahead.count - 1].append(rest)
            aheadBytes += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        if aheadBytes >= RemoteShardReader.highWater { task?.pauseResponse() }
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

    func read(_ bytes: Int, _ done: @escaping (Result<ByteBuffer, StoreError>) -> Void) {
        pieceBytes = max(1, bytes)
        if waiting.isEmpty, aheadStart == 0, let first = ahead.first, first.isFull, first.capacity == bytes {
            // A piece the size of this read, full: it is the read.
            ahead.removeFirst()
            taken(bytes)
            return done(.success(first))
        }
        waiting.append((ByteBuffer(capacity: bytes), done))
        serve()
    }

    /// Moves bytes ahead into the waiting reads, in order; answers the full ones, and once the stream
    /// ended, fails the ones it cannot fill.
    private func serve() {
        while let first = waiting.first {
            while !first.buffer.isFull, let piece = ahead.first {
                let n = first.buffer.append(UnsafeRawBufferPointer(rebasing: piece.bytes[aheadStart...]))
                aheadStart += n
                taken(n)
                if aheadStart == piece.count {
                    ahead.removeFirst()
                    aheadStart = 0
                }
            }
            if first.buffer.isFull {
                waiting.removeFirst()
                first.done(.success(first.buffer))
            } else if let ended {
                waiting.removeFirst()
                first.done(.failure(ended ?? .failed("the shard stream ended early")))
            } else {
                return
            }
        }
    }

    /// `n` bytes ahead were taken by a read: the stream may go on.
    private func taken(_ n: Int) {
        aheadBytes -= n
        if aheadBytes < RemoteShardReader.highWater / 2 { task?.resumeResponse() }
    }

    func close() {
        if let task, !task.isFinished { task.cancel() }
        task = nil
        ahead = []
        waiting = []
    }
}
