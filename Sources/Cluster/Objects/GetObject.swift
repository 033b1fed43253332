import Core
import Erasure
import Loop
import Storage

extension ObjectLayer {
    /// Streams `range` (default: all) of a resolved object to `sink`, block by block: each block is read
    /// from k shards (data shards first), checked against its checksums, and rebuilt from parity when a
    /// shard is missing, unreachable or corrupt. Never hands out bytes that failed their checksum.
    /// `sink` calls its completion with false when the reader went away. A multipart object is read
    /// part after part (each is coded on its own).
    /// `reportsDegraded`: whether a read that had to work around shards is reported (a heal, which
    /// reads around the very shards it rebuilds, is not).
    public func readObject(
        _ object: ResolvedObject, range: Range<Int64>? = nil, reportsDegraded: Bool = true,
        sink: @escaping (ByteBuffer, @escaping (Bool) -> Void) -> Void,
        _ done: @escaping (ObjectError?) -> Void
    ) {
        let size = object.version.size
        let wanted = range ?? 0..<size
        guard !wanted.isEmpty, size > 0 else { return done(nil) }
        guard let info = object.version.erasure else {
            return done(.internalError("\(object.key) has no erasure information"))
        }
        let geometry = ErasureGeometry(
            dataShards: info.dataShards, parityShards: info.parityShards, blockSize: info.blockSize)
        let coder: BlockCoder
        do {
            coder = try coders.coder(for: geometry)
        } catch {
            return done(.internalError(error.description))
        }
        var segments = ObjectLayer.segments(of: object.version.storedParts, covering: wanted)[...]
        func next() {
            guard let (part, partRange) = segments.popFirst() else { return done(nil) }
            GetOperation(
                layer: self, object: object, part: part, info: info, coder: coder, range: partRange,
                reportsDegraded: reportsDegraded, sink: sink
            ) { error in
                if let error { done(error) } else { next() }
            }
            .start()
        }
        next()
    }

    /// The parts a byte range of an object touches, each with the range inside that part.
    static func segments(of parts: [PartInfo], covering range: Range<Int64>) -> [(PartInfo, Range<Int64>)] {
        var out: [(PartInfo, Range<Int64>)] = []
        var start: Int64 = 0
        for part in parts {
            let end = start + part.size
            let lower = max(range.lowerBound, start)
            let upper = min(range.upperBound, end)
            if lower < upper { out.append((part, (lower - start)..<(upper - start))) }
            start = end
        }
        return out
    }
}

/// One read in progress. Loop-bound; decoding runs on the pool. At most one block is being fetched or
/// decoded while the one before it is written to the sink.
final class GetOperation {
    let layer: ObjectLayer
    /// The version read, with its holders (more once the nodes not asked were).
    private(set) var object: ResolvedObject
    /// The part read (the whole object for a single-part one).
    let part: PartInfo
    let reportsDegraded: Bool
    let coder: BlockCoder
    var geometry: ErasureGeometry { coder.geometry }
    let range: Range<Int64>
    let sink: (ByteBuffer, @escaping (Bool) -> Void) -> Void
    var done: ((ObjectError?) -> Void)?
    let blocks: ClosedRange<Int>
    /// The node holding each shard, among the nodes that hold this version and are reachable.
    private var holder: [Int: Int] = [:]
    /// The shards in the order they are read from: data shards before parity (decoding is then a
    /// copy), but shards on slow nodes last.
    private var preference: [Int] = []
    let info: ErasureInfo
    /// Shards read from, and shards that failed (unreadable or corrupt).
    private var active: [Int] = []
    private var bad: Set<Int> = []
    private var corrupt: Set<Int> = []
    /// Shards given up on as too slow (bad for this read, but not known to be missing or broken).
    private var stalled: Set<Int> = []
    private var readers: [Int: ShardReader] = [:]

    private var nextBlock: Int
    /// The block whose frames are being fetched or decoded.
    private var current: Int?
    private var frames: [ByteBuffer?]
    /// Shards whose frame of the current block is still on its way.
    private var awaiting: Set<Int> = []
    /// Counts fetch rounds, so a stall timer can tell whether its round is still the current one.
    private var fetchRound = 0
    private var stallTimer: Timer?
    private var ready: ByteBuffer?
    private var writing = false
    private var blocksWritten = 0

    init(
        layer: ObjectLayer, object: ResolvedObject, part: PartInfo, info: ErasureInfo, coder: BlockCoder,
        range: Range<Int64>, reportsDegraded: Bool, sink: @escaping (ByteBuffer, @escaping (Bool) -> Void) -> Void,
        done: @escaping (ObjectError?) -> Void
    ) {
        self.reportsDegraded = reportsDegraded
        self.layer = layer
        self.object = object
        self.part = part
        self.coder = coder
        self.range = range
        self.sink = sink
        self.done = done
        blocks = coder.geometry.blocks(covering: range.lowerBound, length: Int64(range.count))!
        nextBlock = blocks.lowerBound
        frames = Array(repeating: nil, count: coder.geometry.totalShards)
        self.info = info
        placeHolders()
    }

    /// Maps each shard to its holder, and orders the shards for reading.
    private func placeHolders() {
        holder = [:]
        for node in layer.stores.indices {
            guard let copy = object.holders[layer.nodeID(node)], layer.isReachable(layer.nodeID(node)) else { continue }
            holder[copy.erasure?.index ?? info.distribution[node]] = node
        }
        let k = geometry.dataShards
        let slow = Set(holder.keys.filter { layer.isSlow(layer.nodeID(holder[$0]!)) })
        preference = holder.keys.sorted { a, b in
            if slow.contains(a) != slow.contains(b) { return !slow.contains(a) }
            return (a < k) != (b < k) ? a < k : a < b
        }
    }

    /// Asks the nodes the metadata round left out (the first ones asked agreed) for their copies, and
    /// adds the ones holding this version as holders; then `then`. False when none are left to ask.
    private func askUnasked(then: @escaping () -> Void) -> Bool {
        guard !object.unasked.isEmpty else { return false }
        let asking = object.unasked
        object.unasked = []
        layer.copies(of: object.version, bucket: object.bucket, key: object.key, from: asking) { [self] copies, late in
            guard done != nil else { return }
            for (node, copy) in copies { object.holders[node] = copy }
            object.late.formUnion(late)
            placeHolders()
            then()
        }
        return true
    }

    func start() {
        active = Array(preference.prefix(geometry.dataShards))
        pump()
    }

    private var inline: Bool { object.version.dataDir == nil }
    private var usable: [Int] { active.filter { !bad.contains($0) } }

    /// Moves the read along: writes a decoded block, starts fetching the next, or finishes.
    private func pump() {
        guard done != nil else { return }
        if !writing, let piece = ready {
            ready = nil
            writing = true
            sink(piece) { [self] more in
                writing = false
                guard more else { return finish(nil) }
                blocksWritten += 1
                pump()
            }
            // The sink may have answered at once, and that may have ended the read.
            guard done != nil else { return }
        }
        if current == nil && ready == nil && nextBlock <= blocks.upperBound {
            current = nextBlock
            nextBlock += 1
            frames = Array(repeating: nil, count: geometry.totalShards)
            readMissingFrames()
        }
        if blocksWritten == blocks.count { finish(nil) }
    }

    // MARK: Fetching one block's frames

    /// Reads the frames the current block still lacks from k usable shards, adding shards as needed.
    private func readMissingFrames() {
        guard addShards() else {
            if askUnasked(then: { [self] in readMissingFrames() }) { return }
            return giveUp()
        }
        let wanted = usable.filter { frames[$0] == nil }
        guard !wanted.isEmpty else { return decode() }
        awaiting = Set(wanted)
        fetchRound += 1
        let round = fetchRound
        // A frame can fail as it is asked for (a refused connection), and that can end the read or
        // start a new round: then this round has nothing left to ask for or to time.
        for shard in wanted {
            guard done != nil, fetchRound == round else { return }
            readFrame(shard: shard)
        }
        guard done != nil, fetchRound == round, !inline, !awaiting.isEmpty else { return }
        // A node that stopped answering (paused, partitioned, dying) is left behind for parity.
        if stallTimer == nil {
            do throws(UVError) {
                stallTimer = try Timer(loop: layer.loop, label: "shard read stall")
            } catch {
                // Unwatched, a read could wait on a silent node until its stream timeout: say so now.
                return finish(.internalError("cannot arm the read's stall timer: \(error)"))
            }
        }
        stallTimer?.start(after: layer.shardStall) { [weak self] in
            guard let self, done != nil, fetchRound == round else { return }
            readAroundStalledShards()
        }
    }

    /// Gives up on the shards still awaited, if enough others are left to read the block without them
    /// (else waiting on the slow ones is the only way, up to their stream timeout).
    private func readAroundStalledShards() {
        guard !awaiting.isEmpty else { return }
        let spare = preference.count { !active.contains($0) && !bad.contains($0) }
        guard usable.count - awaiting.count + spare >= geometry.dataShards else {
            // Not enough shards to read around them yet: the nodes not asked may hold more.
            _ = askUnasked(then: { [self] in readAroundStalledShards() })
            return
        }
        let slow = awaiting
        awaiting = []
        stalled.formUnion(slow)
        for shard in slow { markBad(shard) }
        readMissingFrames()
    }

    /// Adds unused shards until k are usable; false when there are not enough left.
    private func addShards() -> Bool {
        for shard in preference where usable.count < geometry.dataShards {
            if !active.contains(shard) && !bad.contains(shard) { active.append(shard) }
        }
        return usable.count >= geometry.dataShards
    }

    private func readFrame(shard: Int) {
        guard done != nil, let block = current else { return }
        let bytes = geometry.frameBytes(index: block, objectSize: part.size)
        if inline {
            let copy = object.holders[layer.nodeID(holder[shard]!)]!
            guard let data = copy.inline, data.count == bytes else {
                return frameArrived(
                    shard: shard,
                    .failure(.storage(.corrupt(path: "\(object.key) inline shard \(shard)", reason: "wrong size"))))
            }
            return frameArrived(shard: shard, .success(ByteBuffer(data)))
        }
        reader(for: shard, from: block).read(bytes) { [self] result in frameArrived(shard: shard, result) }
    }

    /// A reader of the shard from `block` to the end of the range (opened when first needed).
    private func reader(for shard: Int, from block: Int) -> ShardReader {
        if let r = readers[shard] { return r }
        let node = holder[shard]!
        let copy = object.holders[layer.nodeID(node)]!
        let offset = geometry.frameOffset(index: block)
        let end =
            geometry.frameOffset(index: blocks.upperBound)
            + Int64(geometry.frameBytes(index: blocks.upperBound, objectSize: part.size))
        let r = layer.stores[node].openShard(
            bucket: object.bucket, key: object.key, dataDir: copy.dataDir ?? "", part: part.number, offset: offset,
            length: end - offset)
        readers[shard] = r
        return r
    }

    private func frameArrived(shard: Int, _ result: Result<ByteBuffer, StoreError>) {
        // A frame of a shard given up on as too slow arrives late: it is no longer wanted.
        guard done != nil, awaiting.remove(shard) != nil else { return }
        switch result {
        case .success(let frame): frames[shard] = frame
        case .failure: markBad(shard)
        }
        if awaiting.isEmpty { frames.count { $0 != nil } >= geometry.dataShards ? decode() : readMissingFrames() }
    }

    private func markBad(_ shard: Int) {
        bad.insert(shard)
        frames[shard] = nil
        readers.removeValue(forKey: shard)?.close()
    }

    // MARK: Decoding

    private func decode() {
        guard let block = current else { return }
        let coder = self.coder
        let frames = self.frames
        let blockBytes = geometry.blockBytes(index: block, objectSize: part.size)
        do {
            try layer.code(bytes: blockBytes) { () -> Result<BlockCoder.Decoded, BlockCoder.DecodeFailure> in
                do throws(BlockCoder.DecodeFailure) {
                    return .success(try coder.decode(frames: frames, blockBytes: blockBytes))
                } catch {
                    return .failure(error)
                }
            } then: { [self] result in
                guard done != nil else { return }
                switch result {
                case .failure:
                    finish(.slowDown)
                case .success(.failure(.tooFewGoodShards(_, _, let corruptShards))):
                    // Replace the corrupt frames with reads from other shards, for this same block.
                    for shard in corruptShards {
                        corrupt.insert(shard)
                        markBad(shard)
                    }
                    readMissingFrames()
                case .success(.success(let decoded)):
                    for shard in decoded.corrupt {
                        corrupt.insert(shard)
                        markBad(shard)
                    }
                    deliver(decoded.block, block: block)
                }
            }
        } catch {
            finish(.slowDown)
        }
    }

    private func deliver(_ decoded: ByteBuffer, block: Int) {
        // The slice of this block inside the requested range.
        let blockStart = Int64(block) * Int64(geometry.blockSize)
        let from = Int(max(range.lowerBound, blockStart) - blockStart)
        let to = Int(min(range.upperBound, blockStart + Int64(decoded.count)) - blockStart)
        ready =
            from == 0 && to == decoded.count
            ? decoded : ByteBuffer(copying: UnsafeRawBufferPointer(rebasing: decoded.bytes[from..<to]))
        current = nil
        pump()
    }

    private func giveUp() {
        let readable = (0..<geometry.totalShards).count { holder[$0] != nil && !bad.contains($0) }
        let detail =
            "block \(current ?? -1): \(corrupt.isEmpty ? "" : "corrupt shards \(corrupt.sorted()); ")unreadable shards \(bad.subtracting(corrupt).sorted())"
        finish(.readQuorum(answered: readable, needed: geometry.dataShards, detail: detail))
    }

    private func finish(_ error: ObjectError?) {
        guard let done else { return }
        self.done = nil
        stallTimer?.close()
        stallTimer = nil
        for (_, r) in readers { r.close() }
        readers = [:]
        reportDegraded()
        done(error)
    }

    private func reportDegraded() {
        guard reportsDegraded else { return }
        let missing = layer.stores.indices.map(layer.nodeID).filter {
            object.holders[$0] == nil && !object.late.contains($0) && !object.unasked.contains($0)
        }
        let corruptNodes = corrupt.compactMap { holder[$0] }.map(layer.nodeID)
        let unreadable = bad.subtracting(corrupt).subtracting(stalled).compactMap { holder[$0] }.map(layer.nodeID)
        guard !missing.isEmpty || !corruptNodes.isEmpty || !unreadable.isEmpty else { return }
        layer.onDegradedRead?(
            DegradedRead(
                bucket: object.bucket, key: object.key, versionID: object.version.versionID,
                corrupt: corruptNodes.sorted(),
                missing: (missing + unreadable).sorted()))
    }
}
