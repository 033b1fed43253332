import Core
import FoundationEssentials

/// One file `devcluster deploy` writes.
public struct DeployFile: Sendable, Equatable {
    public var name: String
    public var text: String
    /// It holds the root credentials: written readable by its owner only.
    public var holdsSecrets: Bool
}

/// The files `devcluster deploy` writes, rendered from `Templates/deploy` around the plan's command line.
extension DeployPlan {
    /// Where a compose file publishes each node's S3 port (one above the nodes' own, 9001 for 9000, a
    /// port a node): loopback only.
    static let composeLoopback = "127.0.0.1"

    /// Each file, for `format`. `templates` is the Templates folder.
    public func files(
        _ format: Format, accessKey: String, secretKey: String, templates: String
    ) throws(LauncherError) -> [DeployFile] {
        let (names, port) = try checked { () throws(Invalid) in
            try checkPrograms()
            return try expanded()
        }
        // Credentials go into an environment file, YAML and compose's variables: one line each.
        for (what, value) in [("--access-key", accessKey), ("--secret-key", secretKey)]
        where value.isEmpty || value.unicodeScalars.contains(where: { $0.value < 32 || $0.value == 127 }) {
            throw .usage("\(what): one line of printable characters")
        }
        func render(_ file: String, secrets: Bool, _ values: [String: JSONValue]) throws(LauncherError) -> DeployFile {
            let path = templates + "/deploy/" + file
            guard let data = FileManager.default.contents(atPath: path) else { throw .shipped("cannot read \(path)") }
            let text = try Templates.render(String(decoding: data, as: UTF8.self), values: values, source: path)
            return DeployFile(name: file, text: text, holdsSecrets: secrets)
        }
        switch format {
        case .systemd:
            return [
                try render(
                    "devnode.service", secrets: false,
                    ["environmentFile": .string(DeployPlan.environmentFile), "devnode": .string(devnodePath)]),
                try render(
                    "devnode.env", secrets: true,
                    [
                        "options": .string(options(port: port).joined(separator: " ")),
                        "volumes": .string(members(hosts: hosts).joined(separator: " ")),
                        "accessKey": .string(accessKey), "secretKey": .string(secretKey),
                    ]),
            ]
        case .compose:
            let arguments = try checked { () throws(Invalid) in try self.arguments() }
            guard port + names.count <= 65535 else {
                throw .usage("compose publishes ports \(port + 1) to \(port + names.count): past 65535")
            }
            // Compose reads `$` in every string as a variable; a default ends at the first `}`.
            guard !(accessKey + secretKey).contains("}") else {
                throw .usage("a '}' in the credentials cannot go in a compose file's defaults: pick others")
            }
            let escape = { (text: String) in text.replacing("$", with: "$$") }
            var services: [(String, JSONValue)] = []
            for (i, host) in names.enumerated() {
                var volumes: [JSONValue] = [.string("\(host):\(data)")]
                if tls { volumes.append(.string("./certs/\(host):\(DeployPlan.certsDir):ro")) }
                services.append(
                    (
                        host,
                        .object([
                            ("image", .string(image)), ("hostname", .string(host)),
                            ("command", .array(arguments.map(JSONValue.string))),
                            (
                                "environment",
                                .object([
                                    ("MINIO_ROOT_USER", .string("${MINIO_ROOT_USER:-\(escape(accessKey))}")),
                                    ("MINIO_ROOT_PASSWORD", .string("${MINIO_ROOT_PASSWORD:-\(escape(secretKey))}")),
                                ])
                            ),
                            ("ports", .array([.string("\(DeployPlan.composeLoopback):\(port + 1 + i):\(port)")])),
                            ("volumes", .array(volumes)), ("restart", .string("unless-stopped")),
                        ])
                    ))
            }
            return [
                try render(
                    "compose.yaml", secrets: true,
                    [
                        "count": .int(Int64(names.count)), "firstPublished": .int(Int64(port + 1)),
                        "services": .object(services), "volumes": .object(names.map { ($0, .object([])) }),
                    ])
            ]
        case .k8s:
            guard !tls else {
                throw .usage(
                    "--tls with --format k8s: mount each pod's certificate at \(DeployPlan.certsDir) (a Secret per pod) "
                        + "and add --certs-dir to the args; the file does not do this for you yet")
            }
            let arguments = try checked { () throws(Invalid) in try kubernetesArguments() }
            return [
                try render(
                    "k8s.yaml", secrets: true,
                    [
                        "name": .string(name), "namespace": .string(namespace),
                        "secret": .string(name + "-credentials"),
                        "clientService": .string(name + "-s3"), "replicas": .int(Int64(names.count)),
                        "image": .string(image), "args": .array(arguments.map(JSONValue.string)),
                        "port": .int(Int64(port)), "data": .string(data), "volumeSize": .string(volumeSize),
                        "accessKey": .string(accessKey), "secretKey": .string(secretKey),
                    ])
            ]
        }
    }

    private func checked<T>(_ body: () throws(Invalid) -> T) throws(LauncherError) -> T {
        do {
            return try body()
        } catch {
            throw .usage(error.description)
        }
    }
}
