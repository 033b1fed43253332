/// One object in a listing: its key and latest version (without inline data), and in a listing of
/// versions all of them, newest first.
public struct ListEntry: Codable, Equatable, Sendable {
    public var key: String
    public var version: ObjectVersion
    public var versions: [ObjectVersion]?

    public init(key: String, version: ObjectVersion, versions: [ObjectVersion]? = nil) {
        self.key = key
        self.version = version
        self.versions = versions
    }
}

/// One page of a listing, in the byte order of keys.
public struct ListPage: Codable, Equatable, Sendable {
    public var entries: [ListEntry]
    /// Common prefixes (with a delimiter), in order.
    public var prefixes: [String]
    public var isTruncated: Bool
    /// The last key or prefix returned: the next page starts after it.
    public var nextMarker: String?

    public init(
        entries: [ListEntry] = [], prefixes: [String] = [], isTruncated: Bool = false, nextMarker: String? = nil
    ) {
        self.entries = entries
        self.prefixes = prefixes
        self.isTruncated = isTruncated
        self.nextMarker = nextMarker
    }
}

/// S3 orders keys by their UTF-8 bytes, not by Unicode collation.
@inline(__always)
public func keyPrecedes(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

extension Disk {
    /// Up to `limit` keys (and common prefixes) after `marker` that start with `prefix`, folding keys
    /// at `delimiter` into common prefixes. Delete markers are left out.
    public func list(
        bucket: String, prefix: String, marker: String, delimiter: String?, limit: Int
    ) throws(StorageError) -> ListPage {
        _ = try bucketInfo(bucket)
        var walker = Walker(
            disk: self, bucket: bucket, prefix: prefix, marker: marker,
            delimiter: delimiter?.isEmpty == true ? nil : delimiter,
            limit: max(0, limit))
        if limit > 0 { try walker.walk(bucketPath(bucket), keyPrefix: "") }
        return walker.page
    }

    /// Up to `limit` keys from `from` (included when `inclusive`) with every version of each, delete
    /// markers too (`ListEntry.versions`, newest first); prefixes fold as in `list`.
    public func listVersions(
        bucket: String, prefix: String, from: String, inclusive: Bool, delimiter: String?, limit: Int
    ) throws(StorageError) -> ListPage {
        _ = try bucketInfo(bucket)
        var walker = Walker(
            disk: self, bucket: bucket, prefix: prefix, marker: from,
            delimiter: delimiter?.isEmpty == true ? nil : delimiter,
            limit: max(0, limit), allVersions: true, inclusive: inclusive)
        if limit > 0 { try walker.walk(bucketPath(bucket), keyPrefix: "") }
        return walker.page
    }

    /// Whether any object lives below a folder (its own `%meta` is the object whose key has no trailing
    /// `/`, so it does not count), to report a common prefix only when it holds something.
    func holdsObjectBelow(_ path: String) -> Bool {
        for name in (try? FileOps.entries(path)) ?? [] {
            if name == ObjectKey.metadataFile || name.hasPrefix(ObjectKey.dataDirPrefix) { continue }
            let child = path + "/" + name
            guard FileOps.isDirectory(child) else { continue }
            if FileOps.exists(child + "/" + ObjectKey.metadataFile) || holdsObjectBelow(child) { return true }
        }
        return false
    }
}

private struct Walker {
    let disk: Disk
    let bucket: String
    let prefix: String
    let marker: String
    let delimiter: String?
    let limit: Int
    /// Every version of each key, delete markers too (a listing of versions).
    var allVersions = false
    /// Whether the marker key itself is listed.
    var inclusive = false
    var page = ListPage()
    var count = 0
    var done = false
    var lastPrefix: String?

    /// Walks one folder. Returns early (with `done`) once the page is full and one more item was seen.
    mutating func walk(_ dir: String, keyPrefix: String) throws(StorageError) {
        let items = try disk.folders.items(dir) { () throws(StorageError) in
            var items: [FolderIndex.Item] = []
            for name in try FileOps.entries(dir) {
                if name == ObjectKey.metadataFile || name.hasPrefix(ObjectKey.dataDirPrefix) { continue }
                if name == ObjectKey.directoryObject {
                    items.append(.init(key: keyPrefix, name: name, isSubtree: false))
                    continue
                }
                guard let segment = ObjectKey.unescape(name) else { continue }
                items.append(.init(key: keyPrefix + segment, name: name, isSubtree: false))
                items.append(.init(key: keyPrefix + segment + "/", name: name, isSubtree: true))
            }
            return items
        }
        for item in items[firstItem(of: items)...] {
            if done { return }
            let key = item.key
            // Keys under the prefix are one run in key order: past it, nothing more can match.
            if keyPrecedes(prefix, key) && !key.hasPrefix(prefix) { return }
            let path = dir + "/" + item.name
            if !item.isSubtree {
                guard key.hasPrefix(prefix), keyPrecedes(marker, key) || (inclusive && key == marker) else { continue }
                // Read under the object's lock, as every read of a `%meta` file: a replaced one is kept as a
                // spare and reused (`Spares`), never while someone reads it.
                guard
                    let metadata = disk.metadataCache.get(bucket: bucket, key: key)
                        ?? (try? disk.readMetadataFile(bucket: bucket, key: key)),
                    var latest = metadata.latest, allVersions || !latest.isDeleteMarker
                else {
                    continue
                }
                latest.inline = nil
                let versions = allVersions ? metadata.versions.map { v in with(v) { $0.inline = nil } } : nil
                emit(key: key, version: latest, versions: versions)
            } else {
                guard key.hasPrefix(prefix) || prefix.hasPrefix(key) else { continue }
                // Every key below starts with `key`: skip the folder when the marker is past all of them.
                if !keyPrecedes(marker, key) && !marker.hasPrefix(key) && !(inclusive && marker == key) { continue }
                if delimiter == "/", key.count > prefix.count, key.hasPrefix(prefix),
                    !key.dropFirst(prefix.count).dropLast().contains("/")
                {
                    // One level below the prefix: this folder is a common prefix as a whole.
                    if keyPrecedes(marker, key) && disk.holdsObjectBelow(path) { emitPrefix(key) }
                    continue
                }
                // Most objects have no keys below them: spare the read of their folder.
                if FileOps.hasNoSubfolders(path) { continue }
                try walk(path, keyPrefix: key)
            }
        }
    }

    /// Where in a folder's items this page can start: at the first key not before the marker (or the
    /// prefix, when it sorts later), or just before it at the subtree that holds it.
    func firstItem(of items: [FolderIndex.Item]) -> Int {
        let start = keyPrecedes(marker, prefix) ? prefix : marker
        var low = 0
        var high = items.count
        while low < high {
            let mid = (low + high) / 2
            if keyPrecedes(items[mid].key, start) { low = mid + 1 } else { high = mid }
        }
        if low > 0, items[low - 1].isSubtree, start.hasPrefix(items[low - 1].key) { low -= 1 }
        return low
    }

    mutating func emit(key: String, version: ObjectVersion, versions: [ObjectVersion]?) {
        if let delimiter, let range = key.dropFirst(prefix.count).firstRange(of: delimiter) {
            let common = String(key[..<range.upperBound])
            if common == lastPrefix || !keyPrecedes(marker, common) { return }
            emitPrefix(common)
            return
        }
        guard reserve() else { return }
        page.entries.append(ListEntry(key: key, version: version, versions: versions))
        page.nextMarker = key
    }

    mutating func emitPrefix(_ common: String) {
        guard reserve() else { return }
        page.prefixes.append(common)
        page.nextMarker = common
        lastPrefix = common
    }

    /// Counts one more result; past the limit, marks the page truncated and stops the walk.
    mutating func reserve() -> Bool {
        if count == limit {
            page.isTruncated = true
            done = true
            return false
        }
        count += 1
        return true
    }
}

/// A copy of `value` changed by `change`.
@inline(__always)
func with<T>(_ value: T, _ change: (inout T) -> Void) -> T {
    var copy = value
    change(&copy)
    return copy
}
