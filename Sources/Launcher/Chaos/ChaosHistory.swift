/// Every operation the chaos clients made, with when it began and ended, and the check that the store
/// kept its promise over them (a per-key register history, as Jepsen checks one). Pure: times are
/// nanoseconds on one monotonic clock, passed in.
///
/// A write that was not acknowledged (an error, a timeout) may or may not have taken effect, at any
/// time after it began: it is never counted against the store until a read returns it. An
/// acknowledged write took effect between its start and its end, and a write a read returned took
/// effect before that read ended; from then on, a read that begins later must not see anything it
/// replaced.
public struct ChaosHistory: Sendable {
    public struct Write: Sendable, Equatable {
        public var id: String
        public var key: String
        public var isDelete: Bool
        public var began: Int64
        /// When the store answered with success; nil while running or when it did not.
        public var acknowledged: Int64?
    }

    public enum ReadResult: Sendable, Equatable {
        /// A body whose header names the write that made it, intact.
        case value(write: String)
        /// 404 NoSuchKey.
        case absent
        /// Bytes that are not a whole body of any write (changed, cut, another key's).
        case damaged(String)
        /// An error or timeout: no claim about the data.
        case failed(String)
    }

    public struct Read: Sendable, Equatable {
        public var key: String
        public var began: Int64
        public var ended: Int64
        public var result: ReadResult
        /// Made after every fault was healed, to check what the store kept.
        public var isFinal: Bool
        /// The node that answered (for the report).
        public var node: String
    }

    public struct Anomaly: Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            /// A final read did not return the last acknowledged write (or a newer one).
            case lostWrite = "lost acknowledged write"
            /// A read returned a value an acknowledged write had replaced before the read began.
            case staleRead = "stale read"
            /// A read returned an intact body of a write that was never made to this key (or not yet).
            case phantomRead = "phantom read"
            /// A read returned bytes no write made.
            case wrongBytes = "wrong bytes"
            /// A key could not be read at all once everything was healed.
            case unreadable = "unreadable after heal"
            /// A read went back to an older value after another read had returned a write that was
            /// never acknowledged: a failed write seen, then undone. Allowed by S3 (a 5xx write may or
            /// may not happen) but not linearizable; reported, not failed (docs/NOTES.md).
            case dirtyRead = "dirty read"
        }
        /// Whether it breaks the store's promise (everything but a dirty read).
        public var breaksPromise: Bool { kind != .dirtyRead }
        public var kind: Kind
        public var key: String
        public var detail: String
        public var description: String { "\(kind.rawValue): \(key): \(detail)" }
    }

    public private(set) var writes: [Write] = []
    public private(set) var reads: [Read] = []
    private var writeIndex: [String: Int] = [:]
    private var writesByKey: [String: [Int]] = [:]

    public init() {}

    /// Records a write as it begins; returns its handle for `acknowledge`.
    public mutating func begin(write id: String, key: String, isDelete: Bool, at time: Int64) -> Int {
        writes.append(Write(id: id, key: key, isDelete: isDelete, began: time))
        writeIndex[id] = writes.count - 1
        writesByKey[key, default: []].append(writes.count - 1)
        return writes.count - 1
    }

    public mutating func acknowledge(_ handle: Int, at time: Int64) {
        writes[handle].acknowledged = time
    }

    public mutating func record(_ read: Read) {
        reads.append(read)
    }

    public var acknowledgedWrites: Int { writes.count { $0.acknowledged != nil } }

    /// Every anomaly in the history. A read judged fine with only acknowledged writes in effect, but
    /// stale once the writes other reads returned count too, is a dirty read.
    public func check() -> [Anomaly] {
        var seen: [String: Int64] = [:]
        for read in reads where !read.isFinal {
            if case .value(let id) = read.result { seen[id] = min(seen[id] ?? .max, read.ended) }
        }
        let acknowledged = writes.map(\.acknowledged)
        let inEffect = writes.map { w in [w.acknowledged, seen[w.id]].compactMap { $0 }.min() }
        return reads.compactMap { read in
            if let anomaly = check(read, effective: acknowledged) { return anomaly }
            guard var dirty = check(read, effective: inEffect) else { return nil }
            dirty.kind = .dirtyRead
            return dirty
        }
    }

    /// `effective[i]`: by when write i had surely taken effect (nil: not known to).
    private func check(_ read: Read, effective: [Int64?]) -> Anomaly? {
        let at = "read via \(read.node)" + (read.isFinal ? " after heal" : "")
        switch read.result {
        case .failed(let why):
            return read.isFinal ? Anomaly(kind: .unreadable, key: read.key, detail: "\(at): \(why)") : nil
        case .damaged(let why):
            return Anomaly(kind: .wrongBytes, key: read.key, detail: "\(at): \(why)")
        case .value(let id):
            guard let i = writeIndex[id], writes[i].key == read.key, !writes[i].isDelete else {
                return Anomaly(kind: .phantomRead, key: read.key, detail: "\(at): write \(id) was never made to it")
            }
            guard writes[i].began <= read.ended else {
                return Anomaly(kind: .phantomRead, key: read.key, detail: "\(at): write \(id) began after the read")
            }
            guard let newer = replacement(of: writes[i], effective[i], before: read.began, effective: effective)
            else { return nil }
            return Anomaly(
                kind: read.isFinal ? .lostWrite : .staleRead, key: read.key,
                detail: "\(at) returned write \(id), replaced by \(describe(newer))")
        case .absent:
            // Absent is what the start and every delete leave; stale only if each of them was replaced.
            let start = (
                Write(id: "(none yet)", key: read.key, isDelete: true, began: .min, acknowledged: .min), Int64.min
            )
            let deletes = (writesByKey[read.key] ?? []).filter { writes[$0].isDelete && writes[$0].began <= read.ended }
            var newest: Write?
            for (candidate, inEffect) in [start] + deletes.map({ (writes[$0], effective[$0]) }) {
                guard let newer = replacement(of: candidate, inEffect, before: read.began, effective: effective)
                else { return nil }
                newest = newer
            }
            return Anomaly(
                kind: read.isFinal ? .lostWrite : .staleRead, key: read.key,
                detail: "\(at) found no object, though \(describe(newest!)) was in effect before the read")
        }
    }

    /// A write to `w`'s key, other than `w`, that began after `w` had taken effect (`inEffect`) and had
    /// taken effect itself before `time`: it replaced `w` for every read beginning at `time`. None for
    /// a write not known to have taken effect (it may do so late).
    private func replacement(of w: Write, _ inEffect: Int64?, before time: Int64, effective: [Int64?]) -> Write? {
        guard let inEffect else { return nil }
        for i in writesByKey[w.key] ?? [] {
            let x = writes[i]
            if x.id != w.id, let done = effective[i], done < time, x.began > inEffect { return x }
        }
        return nil
    }

    private func describe(_ w: Write) -> String {
        (w.acknowledged == nil ? "unacknowledged but read " : "acknowledged ") + (w.isDelete ? "delete " : "write ")
            + w.id
    }
}
