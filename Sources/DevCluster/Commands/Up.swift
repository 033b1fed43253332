import ArgumentParser
import Cluster
import Core
import Launcher

extension DevCluster {
    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a cluster of N nodes, or restart an existing one with its ports and data.",
            discussion: """
                devcluster up 4                      # nodes on 127.0.0.1:8080-8083 (busy ports are skipped)
                devcluster up 4 --demo               # detection within ~1 s (200ms heartbeats, dead after 1s)
                devcluster up --name b --base-port 9100 3
                devcluster up 4 --fresh              # delete the old cluster and its data first
                devcluster up 4 --webhook http://127.0.0.1:9000/events   # bucket notifications
                devcluster up 4 --tls                # HTTPS, with a private CA in <home>/<name>/certs/ca.crt
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: "Number of nodes, 1 to 16 (default 4; an existing cluster keeps its own).")
        var count: Int?

        @Option(name: .long, help: ArgumentHelp("First port to try.", valueName: "port"))
        var basePort: Int = Launcher.defaultPort

        @Option(name: .long, help: ArgumentHelp("Heartbeat interval.", valueName: "duration"))
        var heartbeatInterval: String?

        @Option(name: .long, help: ArgumentHelp("Silence after which a peer is offline.", valueName: "duration"))
        var deadAfter: String?

        @Flag(name: .long, help: "The demo profile: 200ms heartbeats, offline after 1s.")
        var demo = false

        @Option(name: .long, help: ArgumentHelp("Parity shards (default: by set size, as MinIO).", valueName: "m"))
        var parity: Int?

        @Flag(name: .long, help: "Delete an existing cluster of this name (and its data) first.")
        var fresh = false

        @Option(
            name: .long,
            help: ArgumentHelp("Root access key (default $MINIO_ROOT_USER or minioadmin).", valueName: "key"))
        var accessKey: String?

        @Option(
            name: .long,
            help: ArgumentHelp("Root secret key (default $MINIO_ROOT_PASSWORD or minioadmin).", valueName: "key"))
        var secretKey: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Bucket notifications: POST S3 event records of every object created or removed to this URL (repeatable).",
                valueName: "http-url"))
        var webhook: [String] = []

        @Flag(
            name: .long,
            help:
                "Serve S3 and internode calls over TLS, with certificates from a private CA made for the cluster (its ca.crt is AWS_CA_BUNDLE in 'devcluster env')."
        )
        var tls = false

        @Option(
            name: .long,
            help: ArgumentHelp("How long to wait for every node to see every other.", valueName: "duration"))
        var timeout: String = "30s"

        @Flag(
            name: .long,
            help: "Print the cluster as JSON (endpoints, credentials, pids, environment); progress to stderr.")
        var json = false

        func run() throws {
            var options = UpOptions()
            options.count = count
            options.basePort = basePort
            options.fresh = fresh
            options.parity = parity
            options.accessKey = accessKey
            options.secretKey = secretKey
            options.webhooks = webhook
            options.tls = tls
            options.readyTimeout = try parseDuration(timeout, option: "--timeout")
            options.newClusterFlags = [
                (demo, "--demo"), (heartbeatInterval != nil, "--heartbeat-interval"),
                (deadAfter != nil, "--dead-after"),
                (parity != nil, "--parity"), (basePort != Launcher.defaultPort, "--base-port"),
                (accessKey != nil, "--access-key"),
                (secretKey != nil, "--secret-key"), (!webhook.isEmpty, "--webhook"), (tls, "--tls"),
            ].filter(\.0).map(\.1)
            if demo { options.heartbeat = .demo }
            if let heartbeatInterval {
                options.heartbeat.interval = try parseDuration(heartbeatInterval, option: "--heartbeat-interval")
            }
            if let deadAfter { options.heartbeat.deadAfter = try parseDuration(deadAfter, option: "--dead-after") }
            let launcher = try cluster.launcher(progressToStandardError: json)
            let start = Instant.now()
            let record = try launching { () throws(LauncherError) in try launcher.up(options) }
            let took = Instant.now().since(start)
            if json {
                let variables = try launching { () throws(LauncherError) in
                    try ClusterEnvironment.variables(record, home: launcher.home)
                }
                return say(Up.document(record, launcher.home, variables, took: took).text)
            }
            let s = style
            say(
                s.bold("cluster '\(record.name)' is up: \(record.nodes.count) nodes, all online")
                    + " (\(DurationText.format(took)))\n")
            say(
                s.table(
                    ["NODE", "PID", "ENDPOINT", "DATA"],
                    record.nodes.map { n in
                        [
                            (n.id, .plain), (n.process.map { String($0.pid) } ?? "-", .plain), (n.endpoint, .cyan),
                            (launcher.home.dataPath(n.id), .plain),
                        ]
                    }))
            say("credentials  \(record.accessKey) / \(record.secretKey)")
            say("heartbeats   every \(record.heartbeatInterval), offline after \(record.deadAfter)")
            say("home         \(launcher.home.path)\n")
            say("try:")
            say(
                "  export AWS_ACCESS_KEY_ID=\(record.accessKey) AWS_SECRET_ACCESS_KEY=\(record.secretKey) AWS_ENDPOINT_URL=\(record.nodes[0].endpoint)"
            )
            say("  devcluster status          # or devcluster watch, or open \(record.nodes[0].endpoint) in a browser")
            say("  devcluster kill \(record.nodes.count > 1 ? "node2" : "node1") && devcluster events")
        }

        /// `up --json`: what a script needs to use the cluster.
        static func document(
            _ record: ClusterRecord, _ home: ClusterHome, _ variables: [(name: String, value: String)], took: Duration
        ) -> JSONValue {
            .object([
                ("schemaVersion", .int(1)), ("name", .string(record.name)), ("home", .string(home.path)),
                ("accessKey", .string(record.accessKey)), ("secretKey", .string(record.secretKey)),
                ("region", .string(record.region)), ("startMs", .int(took.milliseconds)),
                (
                    "nodes",
                    .array(
                        record.nodes.map { n in
                            .object([
                                ("id", .string(n.id)), ("endpoint", .string(n.endpoint)), ("port", .int(Int64(n.port))),
                                ("pid", n.process.map { .int(Int64($0.pid)) } ?? .null),
                            ])
                        })
                ),
                ("environment", .object(variables.map { ($0.name, .string($0.value)) })),
            ])
        }
    }
}
