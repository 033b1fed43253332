import Core
import Erasure
import Loop
import Storage

/// A request body as the object layer consumes it: already decoded (aws-chunked framing removed).
/// Loop-bound.
public protocol ObjectBody: AnyObject {
    /// Starts delivery. Chunk bytes are borrowed for the call; `end` runs once, nil when complete.
    func start(chunk: @escaping (UnsafeRawBufferPointer) -> Void, end: @escaping (ObjectError?) -> Void)
    func pause()
    func resume()
}

/// What a write is asked to store besides the bytes.
public struct PutOptions: Sendable {
    /// The decoded length, when the client announced it.
    public var size: Int64?
    public var contentType: String?
    public var userMetadata: [String: String] = [:]
    public var headers: [String: String] = [:]
    /// Object tags (checked against S3's limits by the caller).
    public var tags: [String: String] = [:]
    /// Object lock: the retention and legal hold the version starts with (the bucket's default
    /// retention when none is given).
    public var retention: ObjectRetention?
    public var legalHold = false
    /// Also compute SHA-256 of the content (for signed payloads).
    public var computeSHA256 = false
    /// `x-amz-checksum-*` algorithms to compute.
    public var checksums: [ChecksumAlgorithm] = []
    /// CreateMultipartUpload: the checksum of every part and of the object.
    public var multipartChecksum: MultipartChecksum?
    /// S3's limit for a single PUT.
    public var sizeMax: Int64 = 5 << 30
    /// The version id of the write (set by the object layer from the bucket's versioning).
    var versionID = VersionID.null
    /// A condition on the object as it is when the write commits (If-None-Match, If-Match): checked
    /// under the object's write lock, so no other write slips in between; nil when it holds.
    public var condition: (@Sendable (ObjectVersion?) -> ObjectError?)?

    public init() {}
}

/// Digests of the content, computed while it streamed through, for the caller to check before commit.
public struct ContentDigests: Sendable {
    public var size: Int64
    public var md5: [UInt8]
    public var sha256: [UInt8]?
    public var checksums: [ChecksumAlgorithm: [UInt8]]
}

extension ObjectLayer {
    /// Streams `body` into an erasure-coded object and commits it when write quorum is durable. Memory
    /// stays bounded by a few blocks, whatever the size. `verify` sees the digests before the commit and
    /// can refuse it (a bad Content-MD5, a signature over the payload).
    public func putObject(
        bucket: String, key: String, options: PutOptions, body: ObjectBody,
        verify: @escaping (ContentDigests) -> ObjectError?,
        _ done: @escaping (Result<ObjectVersion, ObjectError>) -> Void
    ) {
        if let error = ObjectLayer.invalidName(bucket: bucket, key: key) { return done(.failure(error)) }
        let targets: [Int]
        let coder: BlockCoder
        do throws(ObjectError) {
            targets = try writeTargets(among: stores.indices)
            coder = try self.coder(for: set.geometry)
        } catch {
            return done(.failure(error))
        }
        requireBucket(bucket) { [self] found in
            guard case .success(let info) = found else { return done(.failure(found.failure!)) }
            var options = options
            do throws(ObjectError) {
                options = try ObjectLockRules.applying(options, bucket: info, now: .now())
            } catch {
                return done(.failure(error))
            }
            options.versionID = ObjectLayer.versionID(for: info)
            PutOperation(
                layer: self, bucket: bucket, key: key, destination: .object, options: options, coder: coder,
                targets: targets, verify: verify, done: done
            )
            .start(body)
        }
    }

    /// The reachable nodes among `candidates`, if they make a write quorum.
    func writeTargets(among candidates: some Sequence<Int>) throws(ObjectError) -> [Int] {
        let targets = candidates.filter { isReachable(nodeID($0)) }
        guard targets.count >= set.writeQuorum else {
            let down = stores.indices.filter { !targets.contains($0) }.map { nodeID($0).rawValue }
            throw .writeQuorum(
                reached: targets.count, needed: set.writeQuorum, detail: "offline: \(down.joined(separator: ", "))")
        }
        return targets
    }

    func coder(for geometry: ErasureGeometry) throws(ObjectError) -> BlockCoder {
        do {
            return try coders.coder(for: geometry)
        } catch {
            throw .internalError(error.description)
        }
    }
}

/// Where a write's bytes go: a new version of the object, or a part of a multipart upload.
enum WriteDestination {
    case object
    case part(MultipartUpload, number: Int)
}

/// The running digests of one write. Used by one thread-pool job at a time, in block order.
final class ContentHasher: @unchecked Sendable {
    let md5 = Digest(.md5)
    let sha256: Digest?
    var checksums: [RunningChecksum]

    init(options: PutOptions) {
        sha256 = options.computeSHA256 ? Digest(.sha256) : nil
        checksums = options.checksums.map { RunningChecksum($0) }
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        md5.update(bytes)
        sha256?.update(bytes)
        for i in checksums.indices { checksums[i].update(bytes) }
    }
}

/// One write in progress. Loop-bound; the hashing and coding of each block runs on the pool.
final class PutOperation {
    let layer: ObjectLayer
    let bucket: String
    let key: String
    let destination: WriteDestination
    let options: PutOptions
    let coder: BlockCoder
    var geometry: ErasureGeometry { coder.geometry }
    let distribution: [Int]
    let targets: [Int]
    let verify: (ContentDigests) -> ObjectError?
    var done: ((Result<ObjectVersion, ObjectError>) -> Void)?
    let hasher: ContentHasher
    private(set) var version: ObjectVersion
    var body: ObjectBody?

    private var filling: ByteBuffer
    private var pending: [ByteBuffer] = []
    private var size: Int64 = 0
    private var ended = false
    private var coding = false
    /// Blocks sent and not yet taken by every writer, oldest first: the nodes still to take each. Up to
    /// `blocksInFlightMax` of them overlap, so the next block is coded while the last one travels.
    private var unacknowledged: [(block: Int, nodes: Set<Int>, sent: Instant)] = []
    /// Checks the oldest unacknowledged block for stalled writers while any is out.
    private var stallTimer: Timer?
    static let blocksInFlightMax = 2
    private var writers: [Int: ShardWriter] = [:]
    private var failed: [Int: String] = [:]
    /// The frames of an object of one block that go with its commit (decided at that block): inside
    /// its metadata when it is small enough, else as each node's shard file (see `goesWithCommit`).
    private var commitFrames: [ByteBuffer]?
    private var blocksWritten = 0
    /// Every block is out: the writers are being finished and the write committed.
    private var finishing = false
    /// A block's frames are being handed to the writers. A writer can take its frame at once and
    /// acknowledge it while the others have not had theirs yet; the next block (coded at once when it
    /// is small) must not reach any writer before then, or that writer would get frames out of order.
    private var sending = false

    init(
        layer: ObjectLayer, bucket: String, key: String, destination: WriteDestination, options: PutOptions,
        coder: BlockCoder, targets: [Int], verify: @escaping (ContentDigests) -> ObjectError?,
        done: @escaping (Result<ObjectVersion, ObjectError>) -> Void
    ) {
        self.layer = layer
        self.bucket = bucket
        self.key = key
        self.destination = destination
        self.options = options
        self.coder = coder
        self.targets = targets
        self.verify = verify
        self.done = done
        if case .part(let upload, _) = destination, let erasure = upload.template.erasure {
            self.distribution = erasure.distribution
        } else {
            self.distribution = layer.set.distribution(bucket: bucket, key: key)
        }
        self.hasher = ContentHasher(options: options)
        self.filling = ByteBuffer(capacity: coder.geometry.blockSize)
        let g = coder.geometry
        version = ObjectVersion(
            versionID: options.versionID, modTime: WallTime.now().millisecondsSinceEpoch, size: 0, etag: "",
            contentType: options.contentType,
            userMetadata: options.userMetadata, headers: options.headers,
            erasure: ErasureInfo(
                dataShards: g.dataShards, parityShards: g.parityShards, blockSize: g.blockSize, index: 0,
                distribution: distribution),
            dataDir: Crypto.randomBytes(16).hexString)
        version.tags = options.tags
        version.retention = options.retention
        version.legalHold = options.legalHold
    }

    func start(_ body: ObjectBody) {
        self.body = body
        body.start(chunk: { [self] bytes in received(bytes) }, end: { [self] error in bodyEnded(error) })
    }

    // MARK: Receiving

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard done != nil else { return }
        size += Int64(bytes.count)
        guard size <= options.sizeMax else { return fail(.entityTooLarge(limit: options.sizeMax)) }
        var rest = bytes
        while !rest.isEmpty {
            let n = filling.append(rest)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if filling.isFull {
                pending.append(filling)
                filling = ByteBuffer(capacity: geometry.blockSize)
            }
        }
        // Hold the client back while two full blocks wait: memory stays at a few blocks per write.
        if pending.count >= 2 { body?.pause() }
        process()
    }

    private func bodyEnded(_ error: ObjectError?) {
        guard done != nil else { return }
        if let error { return fail(error) }
        if let expected = options.size, expected != size {
            return fail(.incompleteBody("\(size) of the \(expected) bytes announced arrived"))
        }
        ended = true
        if filling.count > 0 {
            pending.append(filling)
            filling = ByteBuffer(capacity: 0)
        }
        process()
    }

    /// Starts coding the next block while fewer than `blocksInFlightMax` are out. The first block waits
    /// until the object is known to be larger than it, or complete (it may be small enough to go inline).
    private func process() {
        guard done != nil, !coding, !sending, !finishing, unacknowledged.count < PutOperation.blocksInFlightMax
        else { return }
        guard let block = pending.first else {
            if ended && unacknowledged.isEmpty { finishWrite() }
            return
        }
        if blocksWritten == 0 && !ended && size <= Int64(geometry.blockSize) { return }
        coding = true
        let hasher = self.hasher
        let coder = self.coder
        do {
            try layer.code(bytes: block.count) { () -> [ByteBuffer] in
                hasher.update(block.bytes)
                return coder.encode(block: block.bytes)
            } then: { [self] result in
                coding = false
                guard done != nil else { return }
                guard case .success(let frames) = result else { return fail(.slowDown) }
                pending.removeFirst()
                if pending.count < 2 { body?.resume() }
                blocksWritten += 1
                if blocksWritten == 1 && ended && pending.isEmpty && goesWithCommit(frames) {
                    commitFrames = frames
                    return finishWrite()
                }
                send(frames)
            }
        } catch {
            coding = false
            fail(.slowDown)
        }
    }

    /// Whether the object is small enough to live in its metadata (a part never is: it joins a data
    /// folder).
    private var isInlineSize: Bool {
        guard case .object = destination else { return false }
        return size <= Int64(geometry.blockSize)
            && geometry.shardFileBytes(objectSize: size) <= ObjectLayer.inlineShardBytesMax
    }

    /// Whether an object whose only block coded to `frames` is committed with its data in one call per
    /// node (`LockedCommit`), rather than streamed to staged files first and committed in a round of
    /// its own: a small object inline, or, without a condition (which needs a lock round), any
    /// object whose shards fit in a commit call.
    private func goesWithCommit(_ frames: [ByteBuffer]) -> Bool {
        guard case .object = destination else { return false }
        return isInlineSize
            || (options.condition == nil && frames.allSatisfy { $0.count <= LockedCommitRequest.shardBytesMax })
    }

    // MARK: Fan-out

    private func send(_ frames: [ByteBuffer]) {
        if writers.isEmpty && failed.isEmpty { openWriters() }
        let block = blocksWritten - 1
        unacknowledged.append((block, Set(writers.keys), layer.loop.iterationTime))
        sending = true
        for (node, writer) in writers {
            // A writer that fails as it is handed its frame can end the write (quorum lost).
            guard done != nil else { return }
            writer.write(frames[distribution[node]]) { [self] error in
                if let error { nodeFailed(node, error.description) }
                acknowledged(block, by: node)
            }
        }
        sending = false
        armStallTimer()
        process()
    }

    /// One timer per write, while it runs, watches for nodes that stopped taking part.
    /// (A writer can fail while it is handed a frame, ending the write: no timer is armed after that.)
    private func armStallTimer() {
        guard done != nil, stallTimer == nil else { return }
        let timer: Timer
        do throws(UVError) {
            timer = try Timer(loop: layer.loop, label: "shard write stall")
        } catch {
            // Unwatched, a write could wait on a frozen node far past the stall limit: fail it instead.
            return fail(.internalError("cannot arm the write's stall timer: \(error)"))
        }
        stallTimer = timer
        let period = ObjectLayer.shardWriteStallMax / 4
        timer.start(after: period, repeating: period) { [weak self] in self?.dropStalledWriters() }
    }

    private func acknowledged(_ block: Int, by node: Int) {
        guard done != nil, let i = unacknowledged.firstIndex(where: { $0.block == block }) else { return }
        unacknowledged[i].nodes.remove(node)
        settleAcknowledgements()
    }

    /// Drops fully taken blocks from the front, and moves the write along.
    private func settleAcknowledgements() {
        while let first = unacknowledged.first, first.nodes.isEmpty { unacknowledged.removeFirst() }
        process()
    }

    /// The nodes that have not taken the oldest block out after `shardWriteStallMax` are dropped from
    /// the write (it still has quorum without them, and records them as missed); else they are waited for.
    private func dropStalledWriters() {
        guard done != nil, let entry = unacknowledged.first, !entry.nodes.isEmpty,
            layer.loop.iterationTime.since(entry.sent) >= ObjectLayer.shardWriteStallMax
        else { return }
        guard writers.count - entry.nodes.count >= layer.set.writeQuorum else { return }
        for node in entry.nodes.sorted() {
            nodeFailed(node, "stalled: took no data for \(DurationText.format(ObjectLayer.shardWriteStallMax))")
        }
    }

    private func openWriters() {
        let length = options.size.map { geometry.shardFileBytes(objectSize: $0) }
        for node in targets {
            writers[node] = layer.stores[node].stage(uploadID: version.dataDir!, part: 1, length: length)
        }
    }

    private func nodeFailed(_ node: Int, _ reason: String) {
        guard failed[node] == nil else { return }
        failed[node] = reason
        writers.removeValue(forKey: node)?.abort()
        for i in unacknowledged.indices { unacknowledged[i].nodes.remove(node) }
        if targets.count - failed.count < layer.set.writeQuorum {
            return fail(
                .writeQuorum(
                    reached: targets.count - failed.count, needed: layer.set.writeQuorum, detail: failureSummary))
        }
        if !finishing { settleAcknowledgements() }
    }

    private var failureSummary: String {
        let offline = layer.stores.indices.filter { !targets.contains($0) }.map { "\(layer.nodeID($0)): offline" }
        let failures = failed.sorted { $0.key < $1.key }.map { "\(layer.nodeID($0.key)): \($0.value)" }
        return (offline + failures).joined(separator: "; ")
    }

    // MARK: Finishing

    private func finishWrite() {
        guard done != nil, !finishing else { return }
        finishing = true
        let digests = ContentDigests(
            size: size, md5: hasher.md5.finish(), sha256: hasher.sha256?.finish(),
            checksums: Dictionary(uniqueKeysWithValues: hasher.checksums.map { ($0.algorithm, $0.finish()) }))
        if let error = verify(digests) { return fail(error) }
        var final = version
        final.size = size
        final.etag = digests.md5.hexString
        for (algorithm, value) in digests.checksums { final.checksums[algorithm.rawValue] = Base64.encode(value) }
        if case .part = destination, writers.isEmpty, failed.isEmpty { openWriters() }  // an empty part: empty files
        if case .object = destination, let frames = commitFrames ?? (size == 0 ? [] : nil) {
            // One block: every node's shard travels with its commit, inside its metadata when small.
            let inline = isInlineSize
            if inline { final.dataDir = nil }
            guard options.condition == nil else {
                // (Only inline frames are held for a write with a condition.)
                return commit(final, on: targets, source: .inline(frames))
            }
            // The lock is taken with the commit: one call per node (`targets` make a write quorum).
            return LockedCommit(layer: layer, bucket: bucket, key: key, final: final, on: targets) { [self] result in
                guard done != nil else { return }
                finishWith(result)
            }
            .start(inline ? .inline(frames) : .shardFiles(frames))
        }
        let round = layer.round(
            writers.keys.map(layer.nodeID), enough: layer.set.writeQuorum, grace: ObjectLayer.shardWriteStallMax
        ) {
            [self] (answers: [NodeID: Result<Void, StoreError>]) in
            var finished: [Int] = []
            for (id, answer) in answers {
                switch answer {
                case .success: finished.append(layer.index(of: id))
                case .failure(let e): nodeFailed(layer.index(of: id), e.description)
                }
            }
            guard done != nil else { return }
            switch destination {
            case .object: commit(final, on: finished.sorted(), source: .staged)
            case .part(let upload, let number): commitPart(final, upload: upload, number: number, on: finished.sorted())
            }
        }
        for (node, writer) in writers {
            writer.finish { [layer] result in round.answered(layer.nodeID(node), result) }
        }
    }

    /// Commits under the object's lock, taken in a round of its own: a write with a condition, or one
    /// whose data was staged (a commit taken back would lose the staged data a retry needs).
    private func commit(_ final: ObjectVersion, on nodes: [Int], source: CommitSource) {
        guard nodes.count >= layer.set.writeQuorum else {
            return fail(.writeQuorum(reached: nodes.count, needed: layer.set.writeQuorum, detail: failureSummary))
        }
        layer.locked(bucket: bucket, key: key, failed: { [self] in fail($0) }) { [self] lock in
            guard done != nil else { return lock.release() }
            // Under the lock: the condition is judged, and the write stamped after, the object as it is.
            layer.currentVersion(bucket: bucket, key: key) { [self] current in
                guard case .success(let current) = current else {
                    lock.release()
                    return fail(current.failure!)
                }
                if let condition = options.condition,
                    let error = condition(current.flatMap { $0.isDeleteMarker ? nil : $0 })
                {
                    lock.release()
                    return fail(error)
                }
                var final = final
                final.modTime = ObjectLayer.stamp(after: current)
                // Each node gives its grant back as its commit is done (no release round), except for
                // a conditional write: its condition holds until the whole commit round is over.
                let handOff = options.condition == nil ? lock.handOff : nil
                layer.commitVersion(bucket: bucket, key: key, final, on: nodes, source: source, handOff: handOff) {
                    [self] result in
                    let committed = (try? result.get()) ?? []
                    lock.release(handedOffTo: handOff == nil ? [] : committed.map(layer.nodeID))
                    guard done != nil else { return }
                    finishWith(result.map { _ in final })
                }
            }
        }
    }

    /// Records the staged shard files as part `number` of `upload`: done once write quorum has it (a
    /// failed part is not taken back; the client retries it or aborts the upload).
    private func commitPart(_ final: ObjectVersion, upload: MultipartUpload, number: Int, on nodes: [Int]) {
        guard nodes.count >= layer.set.writeQuorum else {
            return fail(.writeQuorum(reached: nodes.count, needed: layer.set.writeQuorum, detail: failureSummary))
        }
        let part = PartInfo(
            number: number, size: final.size, etag: final.etag,
            checksums: final.checksums.isEmpty ? nil : final.checksums
        )
        // Under the part's lock: of two uploads of one part number, the one that commits last is the part
        // on every node that answered within the round (without it, nodes could keep different ones and
        // none reach a quorum). A node slower than the round's grace may still apply the earlier one
        // after the later: it then holds a part a read quorum does not, which completion does not take.
        let name = ObjectLock.partResourceKey(uploadID: upload.uploadID, number: number)
        layer.locked(bucket: ObjectLock.uploadsNamespace, key: name, failed: { [self] in fail($0) }) { [self] lock in
            guard done != nil else { return lock.release() }
            let round = layer.round(
                nodes.map(layer.nodeID), enough: layer.set.writeQuorum, grace: ObjectLayer.shardWriteStallMax
            ) { [self] (answers: [NodeID: Result<Void, StoreError>]) in
                lock.release()
                guard done != nil else { return }
                for (id, answer) in answers {
                    if case .failure(let e) = answer { failed[layer.index(of: id)] = e.description }
                }
                let recorded = answers.filter { (try? $0.value.get()) != nil }.count
                guard recorded >= layer.set.writeQuorum else {
                    return finishWith(
                        .failure(.writeQuorum(reached: recorded, needed: layer.set.writeQuorum, detail: failureSummary))
                    )
                }
                finishWith(.success(final))
            }
            for node in nodes {
                layer.stores[node].commitPart(uploadID: upload.uploadID, part: part, stagedUploadID: final.dataDir!) {
                    [layer] result in round.answered(layer.nodeID(node), result)
                }
            }
        }
    }

    private func fail(_ error: ObjectError) {
        guard done != nil else { return }
        for (_, writer) in writers { writer.abort() }
        writers = [:]
        pending = []
        finishWith(.failure(error))
    }

    private func finishWith(_ result: Result<ObjectVersion, ObjectError>) {
        let done = self.done
        self.done = nil
        stallTimer?.close()
        stallTimer = nil
        body = nil
        done?(result)
    }
}
