import Core
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The commits this folder began: before a staged data folder is renamed into an object's folder, the
/// pair (object folder, data folder) is appended here. A crash between that rename and the metadata
/// rename leaves a data folder no version points at; replaying the journal at start finds and removes
/// it. Entries are appended with one `write` (no fsync): a process crash keeps them (they are in the
/// page cache), and one lost to a power cut only leaves an orphan folder, never wrong data.
///
/// Thread-safe. The journal is emptied at start after its replay, and whenever it outgrows
/// `bytesMax` while no commit is in flight (the caller holds every object lock).
final class IntentJournal: Sendable {
    /// One intent: an object folder (relative to the data folder) and the data folder moved into it.
    struct Intent: Codable, Equatable {
        var object: String
        var data: String
    }

    static let bytesMax = 4 << 20
    let path: String
    private let state: Mutex<(fd: Int32, bytes: Int)>

    init(path: String) throws(StorageError) {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileOps.fail(path, "open") }
        var s = stat()
        fstat(fd, &s)
        state = Mutex((fd, Int(s.st_size)))
    }

    deinit {
        _ = state.withLock { close($0.fd) }
    }

    func record(_ intent: Intent) throws(StorageError) {
        var line = Array((try? JSONEncoder().encode(intent)) ?? Data())
        line.append(UInt8(ascii: "\n"))
        let written = state.withLock { s -> Bool in
            let n = line.withUnsafeBytes { write(s.fd, $0.baseAddress, $0.count) }
            guard n == line.count else { return false }
            s.bytes += n
            return true
        }
        guard written else { throw FileOps.fail(path, "append") }
    }

    var isOversized: Bool { state.withLock { $0.bytes > IntentJournal.bytesMax } }

    /// Every intent on record (a torn last line from a crash is skipped).
    func intents() -> [Intent] {
        guard let bytes = try? FileOps.read(path, limit: 4 * IntentJournal.bytesMax) else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap {
            try? JSONDecoder().decode(Intent.self, from: Data($0))
        }
    }

    /// Forgets every intent: only while no commit is in flight.
    func clear() {
        state.withLock { s in
            if ftruncate(s.fd, 0) == 0 { s.bytes = 0 }
        }
    }
}
