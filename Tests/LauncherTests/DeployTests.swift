import Core
import Testing

@testable import Launcher

@Suite("deployment files")
struct DeployTests {
    @Test("every host runs the same command line: options, then the members as the hosts were given")
    func commandLine() throws {
        var plan = DeployPlan(hosts: ["node{1...4}:9000"], data: "/srv/devnode")
        #expect(try plan.arguments() == ["--address", ":9000", "http://node{1...4}:9000/srv/devnode"])
        #expect(try plan.expanded().hosts == ["node1", "node2", "node3", "node4"])
        plan.tls = true
        plan.heartbeatInterval = .milliseconds(200)
        plan.deadAfter = .seconds(1)
        #expect(
            try plan.arguments() == [
                "--address", ":9000", "--heartbeat-interval", "200ms", "--dead-after", "1s", "--certs-dir",
                "/etc/devnode/certs", "https://node{1...4}:9000/srv/devnode",
            ])
        plan = DeployPlan(hosts: ["a.lan:9100", "b.lan:9100"], data: "/data")
        #expect(try plan.arguments() == ["--address", ":9100", "http://a.lan:9100/data", "http://b.lan:9100/data"])
        #expect(
            try plan.kubernetesArguments() == [
                "--address", ":9100", "http://devnode-{0...1}.devnode.default.svc.cluster.local:9100/data",
            ])
    }

    @Test("hosts without a port, with different ports, named twice, or no data folder are refused")
    func refusals() {
        func refusal(_ hosts: [String], data: String = "/data") -> String {
            do {
                return "\(try DeployPlan(hosts: hosts, data: data).arguments())"
            } catch {
                return error.description
            }
        }
        #expect(refusal(["node{1...4}"]).contains("is not HOST:PORT"))
        #expect(refusal(["a:9000", "b:9001"]).contains("the same port"))
        #expect(refusal(["a:9000", "a:9000"]).contains("named twice"))
        #expect(refusal([]).contains("name the hosts"))
        #expect(refusal(["a:9000"], data: "data").contains("absolute path"))
        #expect(refusal(["node{4...1}:9000"]).hasPrefix("node{4...1}:9000: "))
        #expect(refusal(["node{1...17}:9000"]).contains("at most 16 nodes"))
        #expect(refusal(["no$de:9000"]).contains("not a host name"))
        // What systemd or compose would read as quoting, a variable or a volume's separator.
        for data in ["/srv/o'brien", "/srv/a b", "/srv/$HOME", "/srv/100%", "/srv/a:b", "/srv/a\\b"] {
            #expect(refusal(["a:9000"], data: data).contains("letters, digits and / . _ - only"), "\(data)")
        }
    }

    @Test("JSON values become block YAML indented to their column; strings quoted, plain keys bare")
    func yaml() {
        let value = JSONValue.object([
            ("node1", .object([("command", .array([.string("--address"), .string(":9000")])), ("n", .int(3))])),
            ("needs quoting", .object([])),
            ("list", .array([.object([("name", .string("s3")), ("port", .int(9000))])])),
        ])
        #expect(
            YAMLText.block(value, indent: 2) == """
                node1:
                    command:
                    - "--address"
                    - ":9000"
                    n: 3
                  "needs quoting": {}
                  list:
                  - name: "s3"
                    port: 9000
                """)
    }

    @Test("a template's {{name|raw}} is a string as it is, {{name|yaml}} a block at its column")
    func templateForms() throws {
        let text = try Templates.render(
            "ExecStart={{path|raw}} x\nservices:\n  {{services|yaml}}\n",
            values: ["path": .string("/usr/bin/devnode"), "services": .object([("a", .array([.string("b")]))])],
            source: "t")
        #expect(text == "ExecStart=/usr/bin/devnode x\nservices:\n  a:\n  - \"b\"\n")
        #expect(throws: LauncherError.self) {
            try Templates.render("{{n|raw}}", values: ["n": .int(1)], source: "t")
        }
        #expect(throws: LauncherError.self) {
            try Templates.render("{{n|toml}}", values: ["n": .int(1)], source: "t")
        }
        // A block after its key on the same line would not be YAML.
        #expect(throws: LauncherError.self) {
            try Templates.render("command: {{n|yaml}}", values: ["n": .array([.string("a")])], source: "t")
        }
    }
}
