import Cluster
import Core

/// The JSON status of one node's view (`GET /_dc/v1/status`), read by `devcluster status`, `wait-for`
/// and the dashboard. Bump `schemaVersion` on incompatible changes.
public struct NodeStatus: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var node: Identity
    public var cluster: ClusterSummary
    public var load: NodeLoad
    public var timing: Timing
    public var peers: [Peer]
    public var http: HTTPSummary
    /// Rebuild, heal queue and scanner (absent from nodes older than healing).
    public var healing: HealingSummary?

    public init(
        schemaVersion: Int, node: Identity, cluster: ClusterSummary, load: NodeLoad, timing: Timing, peers: [Peer],
        http: HTTPSummary, healing: HealingSummary? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.node = node
        self.cluster = cluster
        self.load = load
        self.timing = timing
        self.peers = peers
        self.http = http
        self.healing = healing
    }

    public struct HealingSummary: Codable, Sendable, Equatable {
        /// A rebuild of this node's data folder from its peers, while one runs.
        public var rebuild: Rebuild?
        public var queued: Int
        public var running: Int
        public var healed: Int
        public var removed: Int
        public var failed: Int
        /// Missed writes this node holds for peers, still to replay.
        public var missedPending: Int
        public var scan: Scan?

        public init(
            rebuild: Rebuild?, queued: Int, running: Int, healed: Int, removed: Int, failed: Int, missedPending: Int,
            scan: Scan?
        ) {
            self.rebuild = rebuild
            self.queued = queued
            self.running = running
            self.healed = healed
            self.removed = removed
            self.failed = failed
            self.missedPending = missedPending
            self.scan = scan
        }

        public struct Rebuild: Codable, Sendable, Equatable {
            /// deciding, counting, rebuilding.
            public var phase: String
            public var objectsDone: Int64
            public var objectsTotal: Int64
            public var bytesDone: Int64
            public var bytesTotal: Int64
            public var bytesPerSecond: Double
            public var etaMs: Int64?

            public init(
                phase: String, objectsDone: Int64, objectsTotal: Int64, bytesDone: Int64, bytesTotal: Int64,
                bytesPerSecond: Double, etaMs: Int64?
            ) {
                self.phase = phase
                self.objectsDone = objectsDone
                self.objectsTotal = objectsTotal
                self.bytesDone = bytesDone
                self.bytesTotal = bytesTotal
                self.bytesPerSecond = bytesPerSecond
                self.etaMs = etaMs
            }
        }

        public struct Scan: Codable, Sendable, Equatable {
            public var pass: Int
            public var objects: Int64
            public var bytes: Int64
            public var bad: Int64
            public var finished: Bool
            public var unthrottled: Bool

            public init(pass: Int, objects: Int64, bytes: Int64, bad: Int64, finished: Bool, unthrottled: Bool) {
                self.pass = pass
                self.objects = objects
                self.bytes = bytes
                self.bad = bad
                self.finished = finished
                self.unthrottled = unthrottled
            }
        }
    }
    public struct Identity: Codable, Sendable, Equatable {
        public var id: String
        public var incarnation: UInt64
        public var endpoint: String
        public var pid: Int32
        public var startedAt: String
        public var uptimeMs: Int64
        public var version: String
        public var dataDir: String
        public var shuttingDown: Bool

        public init(
            id: String, incarnation: UInt64, endpoint: String, pid: Int32, startedAt: String, uptimeMs: Int64,
            version: String, dataDir: String, shuttingDown: Bool
        ) {
            self.id = id
            self.incarnation = incarnation
            self.endpoint = endpoint
            self.pid = pid
            self.startedAt = startedAt
            self.uptimeMs = uptimeMs
            self.version = version
            self.dataDir = dataDir
            self.shuttingDown = shuttingDown
        }
    }

    public struct ClusterSummary: Codable, Sendable, Equatable {
        public var members: Int
        /// Members this node sees online, itself included.
        public var online: Int
        public var quorum: Int
        public var quorumAvailable: Bool

        public init(members: Int, online: Int, quorum: Int, quorumAvailable: Bool) {
            self.members = members
            self.online = online
            self.quorum = quorum
            self.quorumAvailable = quorumAvailable
        }
    }

    public struct Timing: Codable, Sendable, Equatable {
        public var heartbeatIntervalMs: Int64
        public var suspectAfterMs: Int64
        public var deadAfterMs: Int64

        public init(heartbeatIntervalMs: Int64, suspectAfterMs: Int64, deadAfterMs: Int64) {
            self.heartbeatIntervalMs = heartbeatIntervalMs
            self.suspectAfterMs = suspectAfterMs
            self.deadAfterMs = deadAfterMs
        }
    }

    public struct Peer: Codable, Sendable, Equatable {
        public var id: String
        public var endpoint: String
        public var state: FailureDetector.State
        /// Milliseconds since last heard; nil if never.
        public var lastHeardMs: Int64?
        /// Milliseconds in the current state.
        public var stateForMs: Int64
        public var incarnation: UInt64?
        /// The peer's own view of the others, from its last heartbeat.
        public var view: [String: FailureDetector.State]?
        public var load: NodeLoad?

        public init(
            id: String, endpoint: String, state: FailureDetector.State, lastHeardMs: Int64?, stateForMs: Int64,
            incarnation: UInt64?, view: [String: FailureDetector.State]?, load: NodeLoad?
        ) {
            self.id = id
            self.endpoint = endpoint
            self.state = state
            self.lastHeardMs = lastHeardMs
            self.stateForMs = stateForMs
            self.incarnation = incarnation
            self.view = view
            self.load = load
        }
    }

    public struct HTTPSummary: Codable, Sendable, Equatable {
        public var connections: Int
        public var requests: Int
        public var protocolErrors: Int
        public var timeouts: Int
        public var connectionsRefused: Int

        public init(connections: Int, requests: Int, protocolErrors: Int, timeouts: Int, connectionsRefused: Int) {
            self.connections = connections
            self.requests = requests
            self.protocolErrors = protocolErrors
            self.timeouts = timeouts
            self.connectionsRefused = connectionsRefused
        }
    }

    /// This node's view as a map from every other node to its state.
    public var view: [String: FailureDetector.State] {
        Dictionary(uniqueKeysWithValues: peers.map { ($0.id, $0.state) })
    }
}

/// Which HTTP paths exist outside S3, all chosen so they can never be a bucket name: `_dc` is not a valid
/// bucket name, and the bucket name `minio` is reserved for MinIO's probe paths.
public enum AdminPaths {
    public static let internalPrefix = "/_dc/v1/"
    public static let status = "/_dc/v1/status"
    /// Dashboard sessions logged out before they expire: `GET` the list, `POST` more.
    public static let revokedSessions = "/_dc/v1/sessions/revoked"
    public static let events = "/_dc/v1/events"
    /// `POST`: start a full scan-and-heal pass now. `GET` of `verify`: check every local shard.
    public static let heal = "/_dc/v1/heal"
    /// Prometheus metrics (HTTP Basic auth with the root credentials, or the cluster key).
    public static let metrics = "/_dc/metrics"
    /// The dashboard (`browser: on`), its JSON under `api/`, and the event stream (SSE).
    public static let dashboard = "/_dc/ui/"
    public static let dashboardAPI = "/_dc/ui/api/"
    public static let eventStream = "/_dc/events"
    public static let verify = "/_dc/v1/verify"
    /// `POST ?asOf=MS`: apply the buckets' lifecycle rules now (as at that time); `GET`: the last pass.
    public static let lifecycle = "/_dc/v1/lifecycle"
    /// `POST ?bucket=B&key=K`: forget the node's cached metadata of one object (its file was changed
    /// behind the node's back, by `devcluster corrupt`).
    public static let forgetMetadata = "/_dc/v1/metadata/forget"
    /// `GET`: the fault table this node applies; `PUT`: a new one (config `faults: on` only).
    public static let faults = "/_dc/v1/faults"
    public static let healthLive = "/minio/health/live"
    public static let healthReady = "/minio/health/ready"
    public static let healthCluster = "/minio/health/cluster"
}
