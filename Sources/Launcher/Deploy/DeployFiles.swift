import Core
import FoundationEssentials

/// The files `devcluster deploy` writes, rendered from `Templates/deploy` around the plan's command line.
extension DeployPlan {
    /// Published ports of a compose file start one above the nodes' own (9001 for 9000), on loopback.
    static let composeLoopback = "127.0.0.1"

    /// Each file's name and text, for `format`. `templates` is the Templates folder.
    public func files(
        _ format: Format, accessKey: String, secretKey: String, templates: String
    ) throws(LauncherError) -> [(name: String, text: String)] {
        let (names, port) = try checked { () throws(Invalid) in try expanded() }
        func render(_ file: String, _ values: [String: JSONValue]) throws(LauncherError) -> (String, String) {
            let path = templates + "/deploy/" + file
            guard let data = FileManager.default.contents(atPath: path) else { throw .shipped("cannot read \(path)") }
            return (file, try Templates.render(String(decoding: data, as: UTF8.self), values: values, source: path))
        }
        switch format {
        case .systemd:
            let arguments = try checked { () throws(Invalid) in try self.arguments() }
            let options = Array(arguments.prefix(arguments.count - hosts.count))
            // systemd splits the variables at whitespace: no word may hold one.
            guard !arguments.contains(where: { $0.contains(" ") }) else {
                throw .usage("a path with a space cannot go in a systemd unit's command line: \(arguments)")
            }
            return [
                try render(
                    "devnode.service",
                    ["environmentFile": .string(DeployPlan.environmentFile), "devnode": .string(devnodePath)]),
                try render(
                    "devnode.env",
                    [
                        "options": .string(options.joined(separator: " ")),
                        "volumes": .string(members(hosts: hosts).joined(separator: " ")),
                        "accessKey": .string(accessKey), "secretKey": .string(secretKey),
                    ]),
            ]
        case .compose:
            let arguments = try checked { () throws(Invalid) in try self.arguments() }
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
                                    ("MINIO_ROOT_USER", .string("${MINIO_ROOT_USER:-\(accessKey)}")),
                                    ("MINIO_ROOT_PASSWORD", .string("${MINIO_ROOT_PASSWORD:-\(secretKey)}")),
                                ])
                            ),
                            ("ports", .array([.string("\(DeployPlan.composeLoopback):\(port + 1 + i):\(port)")])),
                            ("volumes", .array(volumes)), ("restart", .string("unless-stopped")),
                        ])
                    ))
            }
            return [
                try render(
                    "compose.yaml",
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
                    "k8s.yaml",
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
