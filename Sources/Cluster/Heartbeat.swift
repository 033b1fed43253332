import Core

/// What a node says about itself in every heartbeat (and in the reply to one).
public struct Heartbeat: Codable, Sendable, Equatable {
    public var node: NodeID
    /// Changes on every start (DESIGN.md section 6), so peers can tell a restart from a hiccup.
    public var incarnation: UInt64
    public var health: String
    public var load: NodeLoad
    /// How the sender sees every other node.
    public var view: [String: FailureDetector.State]
    /// The sender's wall clock, in milliseconds since the epoch.
    public var sentAt: Int64

    public init(
        node: NodeID, incarnation: UInt64, health: String, load: NodeLoad, view: [String: FailureDetector.State],
        sentAt: Int64
    ) {
        self.node = node
        self.incarnation = incarnation
        self.health = health
        self.load = load
        self.view = view
        self.sentAt = sentAt
    }
}

/// A node's load, as reported in heartbeats and status.
public struct NodeLoad: Codable, Sendable, Equatable {
    public var requestsInFlight: Int
    public var requestsPerSecond: Double
    /// Free bytes on the data directory's file system (nil until first measured).
    public var diskFreeBytes: UInt64?
    public var diskTotalBytes: UInt64?

    public init(
        requestsInFlight: Int = 0, requestsPerSecond: Double = 0, diskFreeBytes: UInt64? = nil,
        diskTotalBytes: UInt64? = nil
    ) {
        self.requestsInFlight = requestsInFlight
        self.requestsPerSecond = requestsPerSecond
        self.diskFreeBytes = diskFreeBytes
        self.diskTotalBytes = diskTotalBytes
    }
}

/// Sent by a node that is stopping gracefully, so peers mark it offline at once.
public struct LeaveNotice: Codable, Sendable, Equatable {
    public var node: NodeID
    public var incarnation: UInt64

    public init(node: NodeID, incarnation: UInt64) {
        self.node = node
        self.incarnation = incarnation
    }
}

/// The internal endpoints of the membership protocol.
public enum MembershipPaths {
    public static let heartbeat = "/_dc/v1/heartbeat"
    public static let leave = "/_dc/v1/leave"
}
