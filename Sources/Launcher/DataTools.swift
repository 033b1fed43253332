import Admin
import Core
import FoundationEssentials
import HTTP
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Breaking and mending data on purpose: wiping a node's disk, flipping bytes in a shard file, asking
/// for a full heal.
extension Launcher {
    /// Stops the nodes (gracefully), deletes their data folders, and starts them empty: each then finds
    /// it belongs to a cluster that holds data and rebuilds itself from its peers.
    public func wipe(_ ids: [String], in record: inout ClusterRecord) throws(LauncherError) {
        _ = stop(ids, in: &record, signal: SIGTERM, timeout: Launcher.stopTimeout)
        for id in ids {
            let data = home.dataPath(id)
            do {
                if FileManager.default.fileExists(atPath: data) { try FileManager.default.removeItem(atPath: data) }
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            } catch {
                throw .io(path: data, reason: "cannot empty it: \(error)")
            }
            note("wipe", id, "data folder deleted by user")
        }
        try spawn(ids, in: &record)
        try home.save(record)
    }

    /// What `corrupt` changed.
    public struct Corruption: Sendable {
        public var node: String
        public var shard: Int
        public var file: String
        public var offset: Int64
    }

    /// Flips bytes of one node's shard of the latest version of `bucket/key`, on disk, behind the
    /// node's back (bitrot): in its shard file, or in its inline frames. With `shard`, the node that
    /// holds that shard index is the one.
    public func corrupt(
        _ record: ClusterRecord, node: String?, bucket: String, key: String, shard: Int?
    ) throws(LauncherError) -> Corruption {
        var candidates: [(String, ObjectVersion, String)] = []
        for n in record.nodes where node == nil || n.id == node {
            let disk = home.dataPath(n.id)
            guard let dir = try? ObjectKey.segments(key).joined(separator: "/") else {
                throw .usage("'\(key)' is not a valid object key")
            }
            let meta = disk + "/" + bucket + "/" + dir + "/" + ObjectKey.metadataFile
            guard let data = FileManager.default.contents(atPath: meta),
                let metadata = try? MetadataFile.decode(Array(data)), let latest = metadata.latest
            else { continue }
            if shard == nil || latest.erasure?.index == shard { candidates.append((n.id, latest, meta)) }
        }
        guard let (id, version, metaPath) = candidates.first else {
            let which = shard.map { "shard \($0) of " } ?? ""
            throw .usage(
                "no \(which)\(bucket)/\(key) found\(node.map { " on \($0)" } ?? ""): check the name with 'aws s3 ls'")
        }
        let index = version.erasure?.index ?? 0
        if let dataDir = version.dataDir {
            let part = version.storedParts.first?.number ?? 1
            let file = parentDirectory(metaPath) + "/" + ObjectKey.dataDirPrefix + dataDir + "/part.\(part)"
            // Inside the first frame's payload, past its 8-byte checksum.
            let offset: Int64 = 8 + min(100, max(0, version.size / 2))
            guard flipByte(file, at: offset) else { throw .io(path: file, reason: "cannot flip a byte in it") }
            note("corrupt", id, "\(bucket)/\(key) shard \(index): byte \(offset) of \(file) flipped by user")
            return Corruption(node: id, shard: index, file: file, offset: offset)
        }
        // Inline: flip a byte of the frame inside the metadata file.
        // The metadata is rewritten with a valid checksum of its own: only the frame's checksum can tell.
        guard let data = FileManager.default.contents(atPath: metaPath),
            var metadata = try? MetadataFile.decode(Array(data)),
            var frame = metadata.versions[0].inline, frame.count > 8
        else { throw .usage("\(bucket)/\(key) on \(id) has no shard bytes to corrupt (an empty object)") }
        frame[8 + (frame.count - 8) / 2] ^= 0xFF
        metadata.versions[0].inline = frame
        do {
            try Data(MetadataFile.encode(metadata)).write(to: URL(fileURLWithPath: metaPath), options: .atomic)
        } catch {
            throw .io(path: metaPath, reason: "\(error)")
        }
        note("corrupt", id, "\(bucket)/\(key) shard \(index): its inline frame in \(metaPath) flipped by user")
        // A running node would go on serving the frame it cached when it was written; reading the
        // file again is what a node that just started (or had evicted it) would do.
        if let node = record.nodes.first(where: { $0.id == id }), processState(record, id) == .running {
            let q = QueryParameters([("bucket", bucket), ("key", key)])
            let target = Probe.Target(id: id, endpoint: node.endpoint)
            _ = Probe.send(
                [(target, Probe.request("POST", AdminPaths.forgetMetadata + "?" + q.encoded, key: self.key(record)))],
                timeout: Launcher.probeTimeout, tls: tls)
        }
        return Corruption(node: id, shard: index, file: metaPath, offset: Int64(8 + (frame.count - 8) / 2))
    }

    private func flipByte(_ path: String, at offset: Int64) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var byte: UInt8 = 0
        guard pread(fd, &byte, 1, off_t(offset)) == 1 else { return false }
        byte ^= 0xFF
        return pwrite(fd, &byte, 1, off_t(offset)) == 1 && fsync(fd) == 0
    }

    /// Asks every running node for a full scan-and-heal pass now; returns each node's pass number.
    public func startHeal(_ record: ClusterRecord) -> [String: Int] {
        let targets = record.nodes.filter { processState(record, $0.id) == .running }.map {
            Probe.Target(id: $0.id, endpoint: $0.endpoint)
        }
        var passes: [String: Int] = [:]
        let requests = targets.map { ($0, Probe.request("POST", AdminPaths.heal, key: key(record))) }
        for (id, result) in Probe.send(requests, timeout: .seconds(5), tls: tls) {
            if case .success(let r) = result, r.status == 200,
                let answer = try? JSONDecoder().decode([String: Int].self, from: Data(r.body)),
                let pass = answer["pass"]
            {
                passes[id] = pass
            }
        }
        return passes
    }

    /// Whether every running node is done healing: its pass at least `passes[node]` finished, nothing
    /// queued or running, no rebuild, no missed write left for a running peer.
    public static func healSettled(_ snapshot: ClusterSnapshot, passes: [String: Int]) -> Bool {
        snapshot.nodes.allSatisfy { n in
            guard n.process == .running else { return true }
            guard let h = n.status?.healing else { return false }
            let passDone =
                passes[n.id].map { pass in
                    (h.scan?.pass ?? 0) > pass || (h.scan?.pass == pass && h.scan?.finished == true)
                } ?? true
            return passDone && h.queued == 0 && h.running == 0 && h.rebuild == nil && h.missedPending == 0
        }
    }
}

/// One line about a node's data: rebuild progress, or its heal queue.
public enum HealingText {
    public static func describe(_ h: NodeStatus.HealingSummary?) -> String {
        guard let h else { return "-" }
        if let r = h.rebuild {
            guard r.phase == "rebuilding" else { return r.phase }
            var text =
                "healing \(r.objectsDone)/\(r.objectsTotal), \(ByteSize.format(r.bytesDone))/\(ByteSize.format(r.bytesTotal))"
            if r.bytesPerSecond > 0 { text += ", \(ByteSize.format(Int64(r.bytesPerSecond)))/s" }
            if let eta = r.etaMs { text += ", ETA \(DurationText.format(.milliseconds(eta)))" }
            return text
        }
        if h.queued + h.running > 0 { return "ok, healing \(h.queued + h.running) objects" }
        if h.missedPending > 0 { return "ok, \(h.missedPending) missed writes held for peers" }
        return "ok"
    }
}
