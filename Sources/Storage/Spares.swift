import CFiles
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Emptied files and folders kept in `.dc/spare/` for reuse, instead of deleted and made again. Every new inode costs the file system's allocator, and on ext4 without a journal that cost
/// grows with the inodes freed in the last half minute (the allocator skips each of them, reading its
/// inode table block: `recently_deleted`), so a store that writes and deletes objects fast paid more
/// per object the faster it went (docs/BENCHMARKS.md). Moving a spare into place is one rename.
///
/// A folder is kept only when it is empty and nothing can be written into it meanwhile: the folders
/// of one write (staging and data folders, a deleted bucket's trash) after the caller emptied them,
/// and objects' folders (which other keys' folders can land in at any moment) under `Disk`'s folder
/// lock, which every step that adds to an object's folder holds. New folders are taken from the
/// spares with a rename that never replaces an existing one.
///
/// A file is kept only when nobody can have it open: objects' `%meta` files, replaced or deleted under
/// the object's stripe lock, which every reader of such a file holds while it has it open. (A shard
/// file can be open in a GET for as long as its stream lasts, or under a write being aborted, and
/// whoever has it open must keep reading and writing its own bytes: shard files are deleted as
/// before.) New files of any kind are taken from the spares. A kept file keeps its old bytes: whoever
/// takes one truncates it (`takeFile` guarantees the inode has no other name).
///
/// Not used on tmpfs, where an inode costs little and every spare would hold memory. Thread-safe.
final class Spares: Sendable {
    /// Spares of each kind kept at most; past it, files and folders are deleted as before.
    static let countMax = 1 << 16

    let folder: String
    let isEnabled: Bool
    private struct State {
        var files: [UInt64] = []
        var folders: [UInt64] = []
        var next: UInt64 = 0
    }
    private let state: Mutex<State>

    /// Opens the spare folder (made if missing) and takes stock of what it holds; with `enabled`
    /// false, empties it.
    init(folder: String, enabled: Bool) throws(StorageError) {
        self.folder = folder
        isEnabled = enabled
        try FileOps.makeDirectories(folder)
        var s = State()
        for name in try FileOps.entries(folder) {
            guard enabled, let kind = name.first, kind == "f" || kind == "d", let n = UInt64(name.dropFirst()) else {
                FileOps.removeTree(folder + "/" + name)
                continue
            }
            if kind == "f" { s.files.append(n) } else { s.folders.append(n) }
            s.next = max(s.next, n + 1)
        }
        state = Mutex(s)
    }

    private func file(_ n: UInt64) -> String { folder + "/f" + String(n) }
    private func folderPath(_ n: UInt64) -> String { folder + "/d" + String(n) }

    /// How many spares of each kind wait.
    var counts: (files: Int, folders: Int) { state.withLock { ($0.files.count, $0.folders.count) } }

    // MARK: Taking

    /// Moves a spare file to `path`, which must not exist. True when a file is there now, with no other
    /// name (its old bytes are the caller's to truncate); false when the caller must create it.
    func takeFile(at path: String) -> Bool {
        guard isEnabled, let n = state.withLock({ $0.files.popLast() }) else { return false }
        guard moveIntoPlace(file(n), path, kind: \.files, n) else { return false }
        // A crash between `keepLink` and the rename that follows it leaves a spare that is also a live
        // file: never hand that one out to be truncated.
        var s = stat()
        if lstat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFREG && s.st_nlink == 1 { return true }
        unlink(path)
        return false
    }

    /// Moves an empty spare folder to `path`, which must not exist. False when the caller must make it.
    func takeFolder(at path: String) -> Bool {
        guard isEnabled, let n = state.withLock({ $0.folders.popLast() }) else { return false }
        return moveIntoPlace(folderPath(n), path, kind: \.folders, n)
    }

    private func moveIntoPlace(
        _ spare: String, _ path: String, kind: WritableKeyPath<State, [UInt64]>, _ n: UInt64
    ) -> Bool {
        if dc_rename_noreplace(spare, path) == 0 { return true }
        // The target exists, or its folder is missing: the spare stays a spare (if it is still there).
        if access(spare, F_OK) == 0 { state.withLock { $0[keyPath: kind].append(n) } }
        return false
    }

    // MARK: Keeping

    /// Keeps the file at `path`, which nobody has open, instead of deleting it. False when it was not
    /// kept (disabled, enough spares, or the move failed): the caller deletes it.
    func keepFile(_ path: String) -> Bool {
        guard let n = reserve(\.files) else { return false }
        return keep(path, as: file(n), kind: \.files, n)
    }

    /// Keeps a second name of the file at `path` (which nobody has open), about to be replaced by a
    /// rename: the rename then frees no inode, and the old file becomes a spare.
    func keepLink(_ path: String) {
        guard let n = reserve(\.files) else { return }
        if link(path, file(n)) == 0 { state.withLock { $0.files.append(n) } }
    }

    /// Keeps a folder the caller just emptied (and no other thread can write into meanwhile) instead of
    /// removing it. False when it was not kept (disabled, enough spares): the caller removes it.
    func keepEmptiedFolder(_ path: String) -> Bool {
        guard let n = reserve(\.folders) else { return false }
        return keep(path, as: folderPath(n), kind: \.folders, n)
    }

    /// A fresh spare number, when spares of this kind are wanted.
    private func reserve(_ kind: KeyPath<State, [UInt64]>) -> UInt64? {
        guard isEnabled else { return nil }
        return state.withLock { s -> UInt64? in
            guard s[keyPath: kind].count < Spares.countMax else { return nil }
            s.next += 1
            return s.next - 1
        }
    }

    private func keep(_ path: String, as spare: String, kind: WritableKeyPath<State, [UInt64]>, _ n: UInt64) -> Bool {
        guard rename(path, spare) == 0 else { return false }
        state.withLock { $0[keyPath: kind].append(n) }
        return true
    }
}
