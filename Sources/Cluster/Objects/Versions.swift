import Storage

/// One version in a listing of versions.
public struct VersionEntry: Sendable, Equatable {
    public var key: String
    public var version: ObjectVersion
    public var isLatest: Bool
}

/// A page of ListObjectVersions.
public struct VersionPage: Sendable, Equatable {
    public var entries: [VersionEntry] = []
    public var prefixes: [String] = []
    public var isTruncated = false
    public var nextKeyMarker: String?
    public var nextVersionIDMarker: String?
}

extension Quorum {
    /// Merges the nodes' listings of versions: a version is listed when a read quorum of the answering
    /// nodes holds it (the newest of those is the latest), keys in byte order and versions newest first,
    /// resuming after `keyMarker` / `versionIDMarker`, with nothing past the end of the shortest
    /// truncated page.
    public static func mergeVersions(
        _ pages: [ListPage], readQuorum: Int, keyMarker: String, versionIDMarker: String, limit: Int
    ) -> VersionPage {
        var boundary: String?
        for page in pages where page.isTruncated {
            if let next = page.nextMarker, boundary.map({ keyPrecedes(next, $0) }) ?? true { boundary = next }
        }
        var held: [String: [String: (count: Int, version: ObjectVersion)]] = [:]
        var prefixCounts: [String: Int] = [:]
        for page in pages {
            for entry in page.entries {
                for v in entry.versions ?? [entry.version] {
                    let id = "\(v.versionID)/\(v.modTime)/\(v.etag)/\(v.isDeleteMarker)"
                    held[entry.key, default: [:]][id, default: (0, v)].count += 1
                }
            }
            for prefix in page.prefixes { prefixCounts[prefix, default: 0] += 1 }
        }
        var items: [(key: String, versions: [ObjectVersion]?)] = []
        for (key, versions) in held {
            let agreed = versions.values.filter { $0.count >= readQuorum }.map(\.version).sorted {
                ($0.modTime, $0.versionID) > ($1.modTime, $1.versionID)
            }
            if !agreed.isEmpty { items.append((key, agreed)) }
        }
        for (prefix, count) in prefixCounts where count >= readQuorum { items.append((prefix, nil)) }
        items.sort { keyPrecedes($0.key, $1.key) }
        if let boundary { items.removeAll { keyPrecedes(boundary, $0.key) } }
        var out = VersionPage()
        var emitted = 0
        outer: for item in items {
            if keyPrecedes(item.key, keyMarker) { continue }
            guard let versions = item.versions else {
                if item.key == keyMarker { continue }
                guard emitted < limit else {
                    out.isTruncated = true
                    break
                }
                out.prefixes.append(item.key)
                out.nextKeyMarker = item.key
                out.nextVersionIDMarker = nil
                emitted += 1
                continue
            }
            var rest = versions[...]
            if item.key == keyMarker {
                guard !versionIDMarker.isEmpty, let i = versions.firstIndex(where: { $0.versionID == versionIDMarker })
                else { continue }
                rest = versions[(i + 1)...]
            }
            for v in rest {
                guard emitted < limit else {
                    out.isTruncated = true
                    break outer
                }
                out.entries.append(VersionEntry(key: item.key, version: v, isLatest: v == versions[0]))
                out.nextKeyMarker = item.key
                out.nextVersionIDMarker = v.versionID
                emitted += 1
            }
        }
        if boundary != nil { out.isTruncated = true }
        if !out.isTruncated {
            out.nextKeyMarker = nil
            out.nextVersionIDMarker = nil
        } else if out.nextKeyMarker == nil {
            out.nextKeyMarker = boundary
        }
        return out
    }
}

extension ObjectLayer {
    /// ListObjectVersions: every version and delete marker a read quorum holds.
    public func listVersions(
        bucket: String, prefix: String, keyMarker: String, versionIDMarker: String, delimiter: String?, limit: Int,
        _ done: @escaping (Result<VersionPage, ObjectError>) -> Void
    ) {
        if let error = ObjectLayer.invalidName(bucket: bucket, key: "x") { return done(.failure(error)) }
        fanOut({
            $0.listVersions(
                bucket: bucket, prefix: prefix, from: keyMarker, inclusive: !versionIDMarker.isEmpty,
                delimiter: delimiter, limit: max(1, limit), $1)
        }) { [self] answers in
            let pages = answers.values.compactMap { try? $0.get() }
            let noBucket = answers.values.count { $0.failure == .storage(.bucketNotFound(bucket)) }
            if noBucket >= set.readQuorum && pages.count < set.readQuorum {
                return done(.failure(.noSuchBucket(bucket)))
            }
            guard pages.count >= set.readQuorum else {
                return done(
                    .failure(.readQuorum(answered: pages.count, needed: set.readQuorum, detail: Self.summary(answers))))
            }
            done(
                .success(
                    Quorum.mergeVersions(
                        pages, readQuorum: set.readQuorum, keyMarker: keyMarker, versionIDMarker: versionIDMarker,
                        limit: limit)))
        }
    }
}
