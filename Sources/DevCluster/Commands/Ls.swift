import ArgumentParser
import Launcher

extension DevCluster {
    struct Ls: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the clusters in the home folder.")

        @OptionGroup var cluster: ClusterOptions

        func run() throws {
            let names = ClusterHome.list(root: cluster.root)
            guard !names.isEmpty else {
                say("no clusters under \(cluster.root): start one with 'devcluster up 4'")
                return
            }
            var rows: [[(text: String, color: Style.Color)]] = []
            for name in names {
                let launcher = Launcher(
                    home: ClusterHome(root: cluster.root, name: name), environment: cluster.environment,
                    executable: "/proc/self/exe", say: { _ in })
                guard let record = try? launcher.home.load() else {
                    rows.append([(name, .plain), ("?", .plain), ("unreadable cluster.json", .red), ("", .plain)])
                    continue
                }
                let running = record.nodes.filter { launcher.processState(record, $0.id) == .running }.count
                let ports = "\(record.nodes.first?.port ?? 0)-\(record.nodes.last?.port ?? 0)"
                rows.append([
                    (name, .plain), (String(record.nodes.count), .plain),
                    (
                        "\(running)/\(record.nodes.count)",
                        running == record.nodes.count ? .green : (running == 0 ? .plain : .yellow)
                    ), (ports, .plain),
                ])
            }
            say(style.table(["NAME", "NODES", "RUNNING", "PORTS"], rows), terminator: "")
        }
    }
}

func say(_ text: String, terminator: String) {
    print(text, terminator: terminator)
}
