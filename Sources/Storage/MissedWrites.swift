import Core
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A write (or delete) that reached its quorum but not every node: what a holder of the write must
/// replay on the nodes it missed once they are back.
public struct MissedEntry: Codable, Equatable, Sendable {
    /// Unique per entry (random hex).
    public var id: String
    public var bucket: String
    public var key: String
    public var versionID: String
    public var isDelete: Bool
    /// The nodes that missed it (node ids), still to heal.
    public var peers: [String]
    /// The nodes that took it: the replay is done by the first of them that is online.
    public var holders: [String]
    /// When the write was acknowledged, ms since the epoch. A delete removes copies older than this.
    public var time: Int64

    public init(
        id: String, bucket: String, key: String, versionID: String, isDelete: Bool, peers: [String],
        holders: [String], time: Int64
    ) {
        self.id = id
        self.bucket = bucket
        self.key = key
        self.versionID = versionID
        self.isDelete = isDelete
        self.peers = peers
        self.holders = holders
        self.time = time
    }
}

/// The durable journal of missed writes (`.dc/missed.log`, JSON lines): entries are appended and
/// fsynced before the write they describe is acknowledged, and a replayed entry is marked done per
/// peer with a line of its own (appended without a sync: a lost mark costs one more, harmless,
/// replay). The file is rewritten without finished entries when it grows. Thread-safe.
final class MissedJournal: Sendable {
    private struct Line: Codable {
        var entry: MissedEntry?
        var done: String?
        var peer: String?
    }

    static let compactBytes = 8 << 20
    let path: String
    private let state: Mutex<(fd: Int32, bytes: Int, pending: [String: MissedEntry])>

    init(path: String) throws(StorageError) {
        self.path = path
        var pending: [String: MissedEntry] = [:]
        if FileOps.exists(path) {
            for raw in try FileOps.read(path, limit: 1 << 30).split(separator: UInt8(ascii: "\n")) {
                guard let line = try? JSONDecoder().decode(Line.self, from: Data(raw)) else { continue }
                if let entry = line.entry { pending[entry.id] = entry }
                if let id = line.done, let peer = line.peer {
                    pending[id]?.peers.removeAll { $0 == peer }
                    if pending[id]?.peers.isEmpty == true { pending[id] = nil }
                }
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileOps.fail(path, "open") }
        var s = stat()
        fstat(fd, &s)
        state = Mutex((fd, Int(s.st_size), pending))
    }

    deinit {
        _ = state.withLock { close($0.fd) }
    }

    var pending: [MissedEntry] { state.withLock { Array($0.pending.values) } }

    /// Appends and syncs: durable when this returns.
    func record(_ entries: [MissedEntry]) throws(StorageError) {
        let bytes = entries.flatMap(encode)
        let error = state.withLock { s -> StorageError? in
            if let e = append(bytes, to: s.fd) { return e }
            guard fdatasync(s.fd) == 0 else { return FileOps.fail(path, "fdatasync") }
            s.bytes += bytes.count
            for entry in entries { s.pending[entry.id] = entry }
            return nil
        }
        if let error { throw error }
    }

    /// Marks `peer` done for the entries `ids`; rewrites the file once it is mostly finished entries.
    func markDone(_ ids: [String], peer: String) {
        var bytes: [UInt8] = []
        for id in ids {
            bytes += encode(Line(entry: nil, done: id, peer: peer))
        }
        state.withLock { s in
            guard append(bytes, to: s.fd) == nil else { return }
            s.bytes += bytes.count
            for id in ids {
                s.pending[id]?.peers.removeAll { $0 == peer }
                if s.pending[id]?.peers.isEmpty == true { s.pending[id] = nil }
            }
            if s.bytes > MissedJournal.compactBytes { compact(&s) }
        }
    }

    /// Rewrites the journal with the pending entries only (staged, synced, renamed over it).
    private func compact(_ s: inout (fd: Int32, bytes: Int, pending: [String: MissedEntry])) {
        let bytes = s.pending.values.flatMap(encode)
        let staged = path + ".compact"
        do {
            try FileOps.writeSynced(staged, bytes)
            try FileOps.rename(staged, path)
        } catch {
            unlink(staged)
            return
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        close(s.fd)
        s.fd = fd
        s.bytes = bytes.count
    }

    private func encode(_ entry: MissedEntry) -> [UInt8] { encode(Line(entry: entry, done: nil, peer: nil)) }

    private func encode(_ line: Line) -> [UInt8] {
        var bytes = Array((try? JSONEncoder().encode(line)) ?? Data())
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    private func append(_ bytes: [UInt8], to fd: Int32) -> StorageError? {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return n == bytes.count ? nil : FileOps.fail(path, "append")
    }
}

extension Disk {
    /// Records missed writes durably (fsynced before this returns).
    public func recordMissed(_ entries: [MissedEntry]) throws(StorageError) {
        try missed.record(entries)
    }

    /// The missed writes still to replay, oldest first.
    public func pendingMissed() -> [MissedEntry] {
        missed.pending.sorted { ($0.time, $0.id) < ($1.time, $1.id) }
    }

    /// Marks the entries replayed on `peer`.
    public func markMissedDone(_ ids: [String], peer: String) {
        missed.markDone(ids, peer: peer)
    }
}
