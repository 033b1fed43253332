import ArgumentParser
import Core
import Launcher

extension DevCluster {
    struct Ls: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the clusters in the home folder.")

        @OptionGroup var cluster: ClusterOptions

        @Flag(
            name: .long,
            help: "Machine-readable output (schemaVersion 1): each cluster's name, home, nodes, running ones, ports.")
        var json = false

        /// One cluster as found: its record, or nil when cluster.json cannot be read.
        private struct Found {
            let home: ClusterHome
            let record: ClusterRecord?
            let running: [String]
        }

        func run() throws {
            let found = ClusterHome.list(root: cluster.root).map(look)
            if json {
                return say(
                    JSONValue.object([("schemaVersion", .int(1)), ("clusters", .array(found.map(Ls.json)))]).text)
            }
            guard !found.isEmpty else {
                say("no clusters under \(cluster.root): start one with 'devcluster up 4'")
                return
            }
            let rows: [[(text: String, color: Style.Color)]] = found.map { c in
                guard let record = c.record else {
                    return [(c.home.name, .plain), ("?", .plain), ("unreadable cluster.json", .red), ("", .plain)]
                }
                let total = record.nodes.count
                let ports = "\(record.nodes.first?.port ?? 0)-\(record.nodes.last?.port ?? 0)"
                return [
                    (c.home.name, .plain), (String(total), .plain),
                    (
                        "\(c.running.count)/\(total)",
                        c.running.count == total ? .green : (c.running.isEmpty ? .plain : .yellow)
                    ),
                    (ports, .plain),
                ]
            }
            say(style.table(["NAME", "NODES", "RUNNING", "PORTS"], rows), terminator: "")
        }

        private func look(_ name: String) -> Found {
            let launcher = Launcher(
                home: ClusterHome(root: cluster.root, name: name), environment: cluster.environment,
                executable: "/proc/self/exe", say: { _ in })
            let record = try? launcher.home.load()
            let running = record.map { r in r.nodes.filter { launcher.processState(r, $0.id) == .running }.map(\.id) }
            return Found(home: launcher.home, record: record, running: running ?? [])
        }

        private static func json(_ c: Found) -> JSONValue {
            let fields: [(String, JSONValue)] = [("name", .string(c.home.name)), ("home", .string(c.home.path))]
            guard let record = c.record else {
                return .object(fields + [("error", .string("unreadable cluster.json"))])
            }
            return .object(
                fields + [
                    ("nodes", .int(Int64(record.nodes.count))), ("running", .array(c.running.map { .string($0) })),
                    ("ports", .array(record.nodes.map { .int(Int64($0.port)) })),
                ])
        }
    }
}
