import ArgumentParser
import Core
import FoundationEssentials
import Launcher

extension DevCluster {
    struct Deploy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the files that run a deployment on several hosts: systemd, compose or Kubernetes.",
            discussion: """
                devcluster deploy --hosts node{1...4}:9000 --data /srv/devnode --format systemd --out deploy/
                devcluster deploy --hosts node{1...4}:9000 --data /data --format compose
                devcluster deploy --hosts node{1...4}:9000 --data /data --format k8s --namespace storage
                Every host runs one devnode with the same command line, as MinIO's do:
                  devnode --address :9000 http://node{1...4}:9000/srv/devnode
                systemd: devnode.service and devnode.env, the same on every host. compose: one service per host,
                S3 published on 127.0.0.1. k8s: a StatefulSet (pods NAME-0 ... NAME-(N-1), which are the hosts
                there, whatever --hosts names), a headless Service, a Service for clients and a Secret.
                The files come from Templates/deploy: edit those to change what every deployment gets.
                """)

        @Option(
            name: .long, parsing: .upToNextOption,
            help: ArgumentHelp(
                "The hosts with their port, as the nodes' URLs name them (node{1...4}:9000).", valueName: "host:port"))
        var hosts: [String] = []

        @Option(
            name: .long, help: ArgumentHelp("Each node's data folder (the same path on every host).", valueName: "dir"))
        var data: String

        @Option(name: .long, help: ArgumentHelp("systemd, compose or k8s.", valueName: "format"))
        var format: String

        @Option(
            name: .long, help: ArgumentHelp("Where to write the files (default: ./deploy-FORMAT).", valueName: "dir"))
        var out: String?

        @Flag(
            name: .long,
            help:
                "https:// between nodes and for clients; each host's certificate in /etc/devnode/certs (devcluster certs)."
        )
        var tls = false

        @Option(
            name: .long, help: ArgumentHelp("How often nodes heartbeat (devnode's default: 1s).", valueName: "duration")
        )
        var heartbeatInterval: String?

        @Option(
            name: .long,
            help: ArgumentHelp("Silence before a peer is offline (devnode's default: 3s).", valueName: "duration"))
        var deadAfter: String?

        @Option(name: .long, help: ArgumentHelp("The installed devnode (systemd).", valueName: "path"))
        var devnode = DeployPlan.defaultDevnodePath

        @Option(name: .long, help: ArgumentHelp("The image (compose, k8s).", valueName: "image"))
        var image = DeployPlan.defaultImage

        @Option(name: .long, help: ArgumentHelp("The StatefulSet's name (k8s).", valueName: "name"))
        var name = DeployPlan.defaultName

        @Option(name: .long, help: ArgumentHelp("The namespace (k8s).", valueName: "namespace"))
        var namespace = DeployPlan.defaultNamespace

        @Option(name: .long, help: ArgumentHelp("Each node's volume (k8s).", valueName: "size"))
        var volumeSize = DeployPlan.defaultVolumeSize

        @Option(name: .long, help: ArgumentHelp("The root user (default minioadmin).", valueName: "key"))
        var accessKey = "minioadmin"

        @Option(name: .long, help: ArgumentHelp("The root password (default minioadmin).", valueName: "key"))
        var secretKey = "minioadmin"

        func run() throws {
            guard let format = DeployPlan.Format(rawValue: format) else {
                throw fail("--format is systemd, compose or k8s", code: usageExitCode)
            }
            var plan = DeployPlan(hosts: hosts, data: data)
            plan.tls = tls
            plan.heartbeatInterval = try heartbeatInterval.map { try parseDuration($0, option: "--heartbeat-interval") }
            plan.deadAfter = try deadAfter.map { try parseDuration($0, option: "--dead-after") }
            plan.devnodePath = devnode
            plan.image = image
            plan.name = name
            plan.namespace = namespace
            plan.volumeSize = volumeSize
            let environment = ProcessInfo.processInfo.environment
            let files = try launching { () throws(LauncherError) in
                try plan.files(
                    format, accessKey: accessKey, secretKey: secretKey,
                    templates: try Templates.locate(environment: environment, executable: ownExecutable))
            }
            let folder = out ?? "deploy-\(format.rawValue)"
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for file in files {
                    let path = folder + "/" + file.name
                    // A file with the root password is its owner's alone.
                    let attributes: [FileAttributeKey: Any]? = file.holdsSecrets ? [.posixPermissions: 0o600] : nil
                    guard
                        FileManager.default.createFile(
                            atPath: path, contents: Data(file.text.utf8), attributes: attributes)
                    else { throw fail("cannot write \(path)") }
                    say("wrote \(path)")
                }
            } catch let error as ExitCode {
                throw error
            } catch {
                throw fail("cannot write to \(folder): \(error)")
            }
            if accessKey == "minioadmin" && secretKey == "minioadmin" {
                sayToStandardError(
                    "note: the credentials are minioadmin/minioadmin; give --access-key and --secret-key for anything but a test"
                )
            }
        }
    }
}
