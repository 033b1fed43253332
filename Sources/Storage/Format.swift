/// The `format.json` of a node's data folder: which deployment it belongs to and as which node, so a
/// node never starts on a folder that is someone else's, and an empty folder is recognised as new.
public struct DiskFormat: Codable, Equatable, Sendable {
    public static let currentVersion = 1

    public var version: Int
    public var deploymentID: String
    public var nodeID: String
    /// The node's index in the member list (0-based).
    public var index: Int
    public var setSize: Int
    public var parity: Int

    public init(deploymentID: String, nodeID: String, index: Int, setSize: Int, parity: Int) {
        self.version = DiskFormat.currentVersion
        self.deploymentID = deploymentID
        self.nodeID = nodeID
        self.index = index
        self.setSize = setSize
        self.parity = parity
    }
}
