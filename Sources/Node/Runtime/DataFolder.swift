import Cluster
import Core
import Storage

/// Opens this node's data folder: refuses a folder that belongs to another deployment or node, formats
/// an empty one, and clears writes a crash left staged or half-committed (never committed, so no reader
/// needs them).
enum DataFolder {
    /// The folder, and whether it was empty and formatted now (it may have to be rebuilt).
    static func open(
        config: NodeConfig, deploymentID: String, set: ErasureSet, log: Logger
    ) throws(NodeStartError) -> (disk: Disk, formattedNow: Bool) {
        let path = config.dataDirectory
        let disk: Disk
        do {
            disk = try Disk(root: path, metadataCacheBytes: Int(config.cluster.metadataCacheBytes))
        } catch {
            throw .dataDirectory(path: path, reason: error.description)
        }
        let index = config.members.firstIndex { $0.id == config.cluster.nodeID } ?? 0
        let wanted = DiskFormat(
            deploymentID: deploymentID, nodeID: config.cluster.nodeID.rawValue, index: index, setSize: set.nodes,
            parity: set.parity)
        let existing: DiskFormat?
        do {
            existing = try disk.readFormat()
        } catch {
            throw .dataDirectory(
                path: path, reason: "its format file is unreadable (\(error)): move the folder aside to start it empty")
        }
        var formattedNow = false
        if let existing {
            guard existing.deploymentID == wanted.deploymentID, existing.nodeID == wanted.nodeID,
                existing.index == wanted.index
            else {
                throw .dataDirectory(
                    path: path,
                    reason:
                        "it belongs to deployment \(existing.deploymentID) as \(existing.nodeID), but this node is \(wanted.nodeID) of "
                        + "deployment \(wanted.deploymentID): point dataDir at this node's own folder, or empty it to rebuild"
                )
            }
            guard existing.setSize == wanted.setSize, existing.parity == wanted.parity else {
                throw .dataDirectory(
                    path: path,
                    reason:
                        "it was formatted for \(existing.setSize) nodes with parity \(existing.parity), not \(wanted.setSize) with parity "
                        + "\(wanted.parity): a set's geometry cannot change under its data")
            }
        } else {
            guard !disk.holdsData else {
                throw .dataDirectory(
                    path: path,
                    reason: "it holds buckets but no format file: it is not a devcluster data folder, or it is damaged")
            }
            do {
                try disk.writeFormat(wanted)
            } catch {
                throw .dataDirectory(path: path, reason: "cannot write its format file: \(error)")
            }
            log.info(
                "formatted a new data folder", [("dataDir", .string(path)), ("deploymentId", .string(deploymentID))])
            formattedNow = true
        }
        let leftovers = disk.removeStaged()
        if leftovers > 0 { log.info("removed staged writes a crash left behind", [("count", .int(Int64(leftovers)))]) }
        let interrupted = disk.removeInterruptedCommits()
        if interrupted > 0 {
            log.info("removed the data of commits a crash interrupted", [("count", .int(Int64(interrupted)))])
        }
        return (disk, formattedNow)
    }
}
