import Synchronization

/// The `%meta` of recently used objects, decoded, in memory: a read served from here costs no file
/// system call and no thread-pool round trip, so the loop answers it at once. It stays exact because
/// every change of a `%meta` goes through `Disk`, which updates it under the object's stripe lock in
/// the same step as the file; a node's memory starts empty, so a restart forgets nothing that matters.
/// What it does not see is a file changed behind the node's back (bitrot, `devcluster corrupt`):
/// reads of a cached object keep serving the bytes that were written, and the scanner, which reads the
/// file itself, finds the damage and evicts the entry (`Disk.checkShard`).
///
/// Two generations, each holding up to half of `bytesMax`: entries go into the young one, a hit in the
/// old one moves there, and when the young one fills it becomes the old one (the previous old one is
/// dropped). That is close to LRU at O(1) per call. Thread-safe.
public final class MetadataCache: Sendable {
    /// The bytes an entry is charged (its encoded size, plus what the map costs per entry).
    static let entryOverhead = 96
    /// Metadata larger than this (many versions) is not cached: it would push out many small objects.
    static let entryBytesMax = 256 << 10

    public let bytesMax: Int

    private struct Generation {
        var entries: [String: (metadata: ObjectMetadata, bytes: Int)] = [:]
        var bytes = 0
    }

    private struct State {
        var young = Generation()
        var old = Generation()
        var hits: UInt64 = 0
        var misses: UInt64 = 0
    }

    private let state = Mutex(State())

    public init(bytesMax: Int) {
        self.bytesMax = max(0, bytesMax)
    }

    /// The key of an object in the map: a bucket name never holds `/`, so this is unambiguous.
    static func key(_ bucket: String, _ key: String) -> String { bucket + "/" + key }

    /// The cached metadata of the object, if any.
    public func get(bucket: String, key: String) -> ObjectMetadata? {
        let k = MetadataCache.key(bucket, key)
        return state.withLock { s in
            if let hit = s.young.entries[k] {
                s.hits += 1
                return hit.metadata
            }
            guard let hit = s.old.entries.removeValue(forKey: k) else {
                s.misses += 1
                return nil
            }
            s.hits += 1
            s.old.bytes -= hit.bytes
            insert(&s, k, hit)
            return hit.metadata
        }
    }

    /// Records the object's metadata as its file now holds it (`encodedBytes`: the file's size).
    /// Callers hold the object's stripe lock, so the file and this entry change together.
    func put(bucket: String, key: String, _ metadata: ObjectMetadata, encodedBytes: Int) {
        let k = MetadataCache.key(bucket, key)
        let bytes = encodedBytes + k.utf8.count + MetadataCache.entryOverhead
        state.withLock { s in
            remove(&s, k)
            guard encodedBytes <= MetadataCache.entryBytesMax, bytes <= bytesMax / 2 else { return }
            insert(&s, k, (metadata, bytes))
        }
    }

    /// Forgets the object (its file is gone, or no longer trusted). Always safe: the next read goes
    /// back to the file.
    public func remove(bucket: String, key: String) {
        let k = MetadataCache.key(bucket, key)
        state.withLock { s in remove(&s, k) }
    }

    /// Forgets every object of a bucket (the bucket is gone).
    func removeBucket(_ bucket: String) {
        let prefix = bucket + "/"
        state.withLock { s in
            for k in s.young.entries.keys where k.hasPrefix(prefix) { remove(&s, k) }
            for k in s.old.entries.keys where k.hasPrefix(prefix) { remove(&s, k) }
        }
    }

    /// Forgets everything (the data folder was changed wholesale).
    func removeAll() {
        state.withLock { s in
            s.young = Generation()
            s.old = Generation()
        }
    }

    /// How the cache did so far, and what it holds.
    public struct Stats: Sendable, Equatable {
        public var hits: UInt64
        public var misses: UInt64
        public var entries: Int
        public var bytes: Int
    }

    public var stats: Stats {
        state.withLock { s in
            Stats(
                hits: s.hits, misses: s.misses, entries: s.young.entries.count + s.old.entries.count,
                bytes: s.young.bytes + s.old.bytes)
        }
    }

    private func insert(_ s: inout State, _ k: String, _ entry: (metadata: ObjectMetadata, bytes: Int)) {
        if s.young.bytes + entry.bytes > bytesMax / 2 {
            s.old = s.young
            s.young = Generation()
        }
        s.young.entries[k] = entry
        s.young.bytes += entry.bytes
    }

    private func remove(_ s: inout State, _ k: String) {
        if let gone = s.young.entries.removeValue(forKey: k) { s.young.bytes -= gone.bytes }
        if let gone = s.old.entries.removeValue(forKey: k) { s.old.bytes -= gone.bytes }
    }
}
