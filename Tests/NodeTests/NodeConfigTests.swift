import Cluster
import Core
import TLS
import Testing

@testable import Node

let goodConfig = """
    {
      "version": "1",
      "credential": { "accessKey": "minioadmin", "secretKey": "minioadmin" },
      "region": "us-east-1",
      "browser": "on",
      "logger": { "console": { "enable": false, "level": "info" }, "file": { "enable": true, "level": "debug", "filename": "node.log" } },
      "notify": { "webhook": { "1": { "enable": true, "endpoint": "http://127.0.0.1:9999/hook" } } },
      "cluster": {
        "nodeId": "node2", "listen": "127.0.0.1:8081",
        "nodes": ["http://127.0.0.1:8080", "http://127.0.0.1:8081", "http://127.0.0.1:8082", "http://127.0.0.1:8083"],
        "parity": "auto", "heartbeat": { "interval": "200ms", "deadAfter": "1s" }, "dataDir": "data", "faults": "on"
      }
    }
    """

func parse(_ text: String, environment: [String: String] = [:]) throws(ConfigError) -> NodeConfig {
    try NodeConfig.parse(text, source: "config.json", baseDirectory: "/srv/node2", environment: environment)
}

/// `goodConfig` with one JSON fragment replaced.
func variant(_ old: String, _ new: String) -> String {
    precondition(goodConfig.contains(old), "test fixture does not contain \(old)")
    return goodConfig.replacing(old, with: new)
}

@Suite("node config")
struct NodeConfigTests {
    @Test("a complete config reads back every field, with paths relative to its folder")
    func reads() throws {
        let c = try parse(goodConfig)
        #expect(c.cluster.nodeID == "node2")
        #expect(c.members.map(\.id) == ["node1", "node2", "node3", "node4"])
        #expect(c.ownURL == "http://127.0.0.1:8081")
        #expect(c.cluster.heartbeat == .demo)
        #expect(c.cluster.parity == nil)
        #expect(c.cluster.faults)
        #expect(c.dataDirectory == "/srv/node2/data")
        #expect(c.logFile == "/srv/node2/node.log")
        #expect(c.file.level == .debug)
        #expect(!c.console.enable)
        #expect(c.webhooks == [.init(id: "1", enable: true, endpoint: "http://127.0.0.1:9999/hook")])
    }

    @Test("the metadata cache's size is read, 0 turns it off, and a negative one is refused")
    func metadataCache() throws {
        let key = "\"faults\": \"on\""
        #expect(try parse(goodConfig).cluster.metadataCacheBytes == 32 << 20)
        #expect(try parse(variant(key, key + ", \"metadataCacheBytes\": 0")).cluster.metadataCacheBytes == 0)
        #expect {
            try parse(variant(key, key + ", \"metadataCacheBytes\": -1"))
        } throws: { ($0 as? ConfigError)?.description.contains("cluster.metadataCacheBytes") == true }
    }

    @Test("rendering and reading again gives the same config")
    func roundTrip() throws {
        let c = try parse(goodConfig)
        let again = try parse(c.json.prettyText())
        #expect(again == c)
    }

    @Test("https:// members turn TLS on with the certificates folder; a list mixing schemes is refused")
    func tls() throws {
        let plain = try parse(goodConfig)
        #expect(!plain.isSecure && plain.certificates == nil)
        let secure = try parse(goodConfig.replacing("http://", with: "https://"))
        #expect(secure.isSecure)
        #expect(secure.certificates?.certificate == "/srv/node2/certs/public.crt")
        let elsewhere = try parse(
            goodConfig.replacing("http://", with: "https://").replacing(
                "\"browser\": \"on\",", with: "\"browser\": \"on\", \"certsDir\": \"/etc/devnode/certs\","))
        #expect(elsewhere.certificates?.key == "/etc/devnode/certs/private.key")
        #expect(try parse(elsewhere.json.text) == elsewhere)
        let error = #expect(throws: ConfigError.self) {
            try parse(variant("\"http://127.0.0.1:8083\"", "\"https://127.0.0.1:8083\""))
        }
        #expect(error?.key == "cluster.nodes[3]")
        #expect(error?.fix.contains("TLS") == true)
    }

    @Test("environment variables override the credential, as MinIO's do")
    func environment() throws {
        let c = try parse(goodConfig, environment: ["MINIO_ROOT_USER": "alice", "MINIO_ROOT_PASSWORD": "wonderland"])
        #expect(c.credential == .init(accessKey: "alice", secretKey: "wonderland"))
    }

    @Test(
        "a bad config names the key and says what to do",
        arguments: [
            (variant("\"heartbeat\"", "\"heartbeet\""), "cluster.heartbeet", "did you mean 'heartbeat'?"),
            (
                variant("\"deadAfter\": \"1s\"", "\"deadAfter\": \"300ms\""), "cluster.heartbeat",
                "dead-after must be longer"
            ),
            (
                variant("\"interval\": \"200ms\"", "\"interval\": \"fast\""), "cluster.heartbeat.interval",
                "not a duration"
            ),
            (variant("\"nodeId\": \"node2\"", "\"nodeId\": \"node9\""), "cluster.nodeId", "node1...node4"),
            (
                variant("\"listen\": \"127.0.0.1:8081\"", "\"listen\": \"127.0.0.1:9000\""), "cluster.listen",
                "listen on port 8081"
            ),
            (
                variant("\"secretKey\": \"minioadmin\"", "\"secretKey\": \"short\""), "credential.secretKey",
                "at least 8"
            ),
            (variant("\"parity\": \"auto\"", "\"parity\": 3"), "cluster.parity", "0...2"),
            (
                variant("\"level\": \"info\"", "\"level\": \"loud\""), "logger.console.level",
                "debug, info, warn or error"
            ),
            (variant("\"browser\": \"on\"", "\"browser\": \"yes\""), "browser", "\"on\" or \"off\""),
            (variant("\"http://127.0.0.1:8083\"", "\"http://127.0.0.1:8080\""), "cluster.nodes[3]", "listed twice"),
            (variant("\"http://127.0.0.1:8083\"", "\"127.0.0.1:8083\""), "cluster.nodes[3]", "http://host:port"),
            (variant("\"version\": \"1\"", "\"version\": \"7\""), "version", "unsupported"),
            (
                variant("\"endpoint\": \"http://127.0.0.1:9999/hook\"", "\"endpoint\": \"nope\""),
                "notify.webhook.1.endpoint", "http://"
            ),
            ("{ not json", "", "not valid JSON"),
            ("{}", "cluster", "missing"),
        ])
    func errors(text: String, key: String, hint: String) {
        #expect {
            try parse(text)
        } throws: { error in
            guard let e = error as? ConfigError else { return false }
            return e.key == key && e.description.contains(hint)
        }
    }

    @Test("the listen address splits into host and port in every form")
    func hostPort() {
        #expect(NodeConfig.splitHostPort("127.0.0.1:8080")! == ("127.0.0.1", 8080))
        #expect(NodeConfig.splitHostPort(":9000")! == ("", 9000))
        #expect(NodeConfig.splitHostPort("[::1]:8081")! == ("::1", 8081))
        #expect(NodeConfig.splitHostPort("8080") == nil)
        #expect(NodeConfig.splitHostPort("a:99999") == nil)
    }
}

@Suite("ellipsis expansion")
struct EllipsisTests {
    @Test("ranges expand in order, several as a cartesian product, leading zeros kept")
    func expands() throws {
        #expect(try Ellipsis.expand("http://127.0.0.1:{8080...8083}") == (8080...8083).map { "http://127.0.0.1:\($0)" })
        #expect(
            try Ellipsis.expand("http://node{1...2}/d{1...2}") == [
                "http://node1/d1", "http://node1/d2", "http://node2/d1", "http://node2/d2",
            ])
        #expect(try Ellipsis.expand("h{08...10}") == ["h08", "h09", "h10"])
        #expect(try Ellipsis.expand("plain") == ["plain"])
    }

    @Test(
        "malformed or huge ranges are refused",
        arguments: ["{1..4}", "{4...1}", "{a...c}", "x{1...2", "x}", "{1...100000}", "{1...40}{1...40}"])
    func refuses(pattern: String) {
        #expect(throws: Ellipsis.Failure.self) { try Ellipsis.expand(pattern) }
    }
}

@Suite("standalone command line")
struct StandaloneTests {
    func config(
        _ endpoints: [String], address: String? = nil, nodeID: String? = nil, data: String? = nil,
        local: @escaping (String) -> Bool = { _ in true }
    )
        throws(ConfigError) -> NodeConfig
    {
        var o = StandaloneOptions(endpoints: endpoints)
        o.address = address
        o.nodeID = nodeID
        o.dataDir = data
        return try NodeConfig.standalone(o, environment: [:], workingDirectory: "/work", isLocal: local)
    }

    @Test("on one host, the address picks this node out of the expanded list")
    func oneHost() throws {
        let c = try config(["http://127.0.0.1:{9001...9004}"], address: "127.0.0.1:9003", data: "d3")
        #expect(c.cluster.nodeID == "node3")
        #expect(c.cluster.nodes.count == 4)
        #expect(c.dataDirectory == "/work/d3")
        #expect(c.cluster.listen == "127.0.0.1:9003")
    }

    @Test("across hosts with one port, the local host decides, and the endpoint path is the data folder")
    func multiHost() throws {
        let c = try config(["http://node{1...4}.lan:9000/srv/data"], address: ":9000", local: { $0 == "node2.lan" })
        #expect(c.cluster.nodeID == "node2")
        #expect(c.dataDirectory == "/srv/data")
        #expect(c.cluster.nodes[0] == "http://node1.lan:9000")
    }

    @Test("an ambiguous or missing identity is an error that says how to fix it")
    func ambiguous() {
        #expect {
            try config(["http://node{1...4}.lan:9000/d"], address: ":9000", local: { _ in true })
        } throws: { ($0 as? ConfigError)?.description.contains("--node-id") == true }
        #expect {
            try config(["http://127.0.0.1:{9001...9002}"], address: "127.0.0.1:9001")
        } throws: { ($0 as? ConfigError)?.key == "--data" }
        #expect(throws: ConfigError.self) { try config(["http://127.0.0.1:{9001...9002}/d"], nodeID: "node7") }
    }

    @Test("a bad value from a flag is reported under the flag's name, not the config key")
    func namesTheFlag() {
        var o = StandaloneOptions(endpoints: ["http://127.0.0.1:{9001...9002}/d"])
        o.address = "127.0.0.1:9001"
        o.heartbeat = HeartbeatTiming(interval: .seconds(1), deadAfter: .seconds(1))
        #expect {
            try NodeConfig.standalone(o, environment: [:], workingDirectory: "/work", isLocal: { _ in true })
        } throws: { error in
            let e = error as? ConfigError
            return e?.key == "--heartbeat-interval/--dead-after" && e?.description.contains("suspect after 2s") == true
        }
    }
}
