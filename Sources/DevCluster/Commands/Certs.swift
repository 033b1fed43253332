import ArgumentParser
import Launcher

extension DevCluster {
    struct Certs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a private CA and a TLS certificate for each host of a deployment.",
            discussion: """
                devcluster certs --hosts node{1...4}.lan             # ./certs/ca, ./certs/node1.lan, ...
                devcluster certs --hosts node{1...4} --name s3.lan --out /srv/certs

                Copy each host's folder to it and start its node with it:
                  devnode --certs-dir /etc/devnode/certs --address :9000 https://node{1...4}.lan:9000/data
                Clients trust the CA with AWS_CA_BUNDLE=certs/ca/ca.crt (aws cli, boto3), --ca-cert (rclone),
                --ca-certs (s3cmd). A CA already in the folder is kept: certificates for more hosts made later
                are trusted by the first ones. For one machine, 'devcluster up --tls' does all of this itself.
                """)

        @Option(
            name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("The hosts, as the nodes' URLs name them ({1...4} ranges allowed).", valueName: "host"))
        var hosts: [String] = []

        @Option(
            name: .customLong("name"),
            help: ArgumentHelp(
                "Another name (or IP address) every certificate holds, e.g. a load balancer's (repeatable).",
                valueName: "name"))
        var names: [String] = []

        @Option(name: .long, help: ArgumentHelp("Where to write them.", valueName: "dir"))
        var out = "certs"

        @Flag(name: .long, help: "Print errors only: the exit code tells the rest.")
        var quiet = false

        func validate() throws {
            if quiet { Output.quiet = true }
        }

        func run() throws {
            let made = try launching { () throws(LauncherError) in
                try HostCertificates.make(hosts: hosts, extraNames: names, folder: out)
            }
            say("CA: \(made.authority) (give it to clients; keep ca.key beside it private)")
            for (host, folder) in made.hosts { say("\(host): \(folder) (public.crt, private.key, CAs/)") }
        }
    }
}
