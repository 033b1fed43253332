/// A node's name in the cluster: `node1` ... `nodeN`, from its position in the peer list.
public struct NodeID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    /// `node<index + 1>`: node ids follow the order of the peer list, the same on every node.
    public static func forIndex(_ index: Int) -> NodeID { NodeID("node\(index + 1)") }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        // node2 before node10.
        let l = lhs.rawValue.drop { !$0.isNumber }
        let r = rhs.rawValue.drop { !$0.isNumber }
        if let a = Int(l), let b = Int(r), lhs.rawValue.dropLast(l.count) == rhs.rawValue.dropLast(r.count) {
            return a < b
        }
        return lhs.rawValue < rhs.rawValue
    }
}

/// One member of the cluster as configured.
public struct PeerAddress: Hashable, Sendable {
    public var id: NodeID
    /// `http://host:port`
    public var url: String

    public init(id: NodeID, url: String) {
        self.id = id
        self.url = url
    }
}
