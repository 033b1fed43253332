import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The listing order of a folder's entries, kept for big folders so that each page of a listing of
/// 100 000 keys costs a binary search, not a read and sort of the whole folder. An entry is trusted
/// while the folder's inode and modification time are unchanged, and only taken at all when that time
/// was over `settleTime` old: the kernel stamps folders with a coarse clock, so two changes within one
/// tick could share a time, but a change after the index was taken always moves it. Thread-safe.
final class FolderIndex: Sendable {
    /// One item of a folder in listing order: an object (`name/%meta`, or the folder's own directory
    /// object) or the subtree below `name` (key ends in `/`).
    struct Item: Sendable {
        var key: String
        var name: String
        var isSubtree: Bool
    }

    /// Folders smaller than this are read afresh: they cost less than a cache lookup is worth.
    static let entriesMin = 512
    /// All cached folders together hold at most this many bytes (keys and names, plus a fixed cost
    /// per item): long keys count for what they weigh.
    static let bytesMax = 64 << 20
    static let itemOverhead = 48
    static let settleTime: Int64 = 1_000_000_000

    private struct Cached {
        var inode: UInt64
        var modified: Int64
        var items: [Item]
        var bytes: Int
        var used: UInt64
    }

    private struct State {
        var folders: [String: Cached] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The items of folder `path` in key order, from `read` when the index does not hold them.
    func items(
        _ path: String, read: () throws(StorageError) -> [Item]
    ) throws(StorageError) -> [Item] {
        var s = stat()
        guard stat(path, &s) == 0 else { return try FolderIndex.sorted(read()) }
        let inode = UInt64(s.st_ino)
        let modified = Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec)
        let hit: [Item]? = state.withLock { state in
            guard var cached = state.folders[path], cached.inode == inode, cached.modified == modified else {
                return nil
            }
            state.clock += 1
            cached.used = state.clock
            state.folders[path] = cached
            return cached.items
        }
        if let hit { return hit }
        let items = try FolderIndex.sorted(read())
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let age = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec) - modified
        guard items.count >= FolderIndex.entriesMin, age > FolderIndex.settleTime else { return items }
        let bytes = items.reduce(0) { $0 + $1.key.utf8.count + $1.name.utf8.count + FolderIndex.itemOverhead }
        guard bytes <= FolderIndex.bytesMax / 2 else { return items }
        state.withLock { state in
            if let old = state.folders.removeValue(forKey: path) { state.bytes -= old.bytes }
            while state.bytes + bytes > FolderIndex.bytesMax,
                let oldest = state.folders.min(by: { $0.value.used < $1.value.used })
            {
                state.folders.removeValue(forKey: oldest.key)
                state.bytes -= oldest.value.bytes
            }
            state.clock += 1
            state.folders[path] = Cached(
                inode: inode, modified: modified, items: items, bytes: bytes, used: state.clock)
            state.bytes += bytes
        }
        return items
    }

    static func sorted(_ items: [Item]) -> [Item] {
        items.sorted { keyPrecedes($0.key, $1.key) }
    }
}
