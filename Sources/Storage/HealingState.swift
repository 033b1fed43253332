/// The progress of rebuilding this node's data folder from its peers (`.dc/healing.json`), saved as
/// it goes so that a rebuild killed halfway resumes where it stopped. Its presence means the folder
/// is not yet a source of good data.
public struct HealingState: Codable, Equatable, Sendable {
    /// Milliseconds since the epoch.
    public var started: Int64
    /// Whether the totals below are counted (the first pass over the peers' listings).
    public var counted = false
    public var objectsTotal: Int64 = 0
    public var bytesTotal: Int64 = 0
    public var objectsDone: Int64 = 0
    public var bytesDone: Int64 = 0
    public var objectsFailed: Int64 = 0
    /// The buckets to rebuild, in order, and how far: every key up to `marker` of bucket
    /// `buckets[bucketIndex]` is done.
    public var buckets: [String] = []
    public var bucketIndex = 0
    public var marker = ""
    /// Within the marker key, every version up to this one is done ("" for none of its versions yet).
    public var versionMarker: String?

    public init(started: Int64) {
        self.started = started
    }
}

extension Disk {
    var healingPath: String { root + "/.dc/healing.json" }

    public func readHealingState() throws(StorageError) -> HealingState? {
        guard FileOps.exists(healingPath) else { return nil }
        return try readJSON(HealingState.self, from: healingPath)
    }

    public func writeHealingState(_ state: HealingState) throws(StorageError) {
        try writeJSON(state, to: healingPath)
    }

    /// The folder is whole: it is a source of good data from now on.
    public func clearHealingState() {
        unlink(healingPath)
        FileOps.syncDirectory(root + "/.dc")
    }
}

#if canImport(Glibc)
import Glibc
#endif
