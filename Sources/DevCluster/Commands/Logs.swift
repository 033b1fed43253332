import ArgumentParser
import Core
import Launcher

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print node logs, merged in time order, readable (or --raw JSON lines).",
            discussion: """
                devcluster logs                  # every node
                devcluster logs node2 -f         # one node, following
                devcluster logs all -n 50 --raw  # the last 50 lines, as written
                """)

        @OptionGroup var cluster: ClusterOptions

        @Argument(help: ArgumentHelp("Which nodes (default all).", valueName: "nodes"))
        var nodes: String = "all"

        @Flag(name: .shortAndLong, help: "Keep printing new lines.")
        var follow = false

        @Flag(name: .long, help: "The lines exactly as the nodes wrote them.")
        var raw = false

        @Option(
            name: .short, help: ArgumentHelp("Only the last N lines so far (default: all; 20 with -f).", valueName: "N")
        )
        var n: Int?

        func run() throws {
            let launcher = try cluster.launcher()
            let record = try launching { () throws(LauncherError) in try launcher.home.load() }
            let ids = try parseSelector(nodes, record)
            var cursors = ids.map { LineCursor(path: launcher.home.logPath($0)) }
            let s = style
            let batch = { (cursors: inout [LineCursor]) -> [(WallTime, String)] in
                var lines: [(WallTime, String)] = []
                for (i, id) in ids.enumerated() {
                    var last = WallTime(millisecondsSinceEpoch: 0)
                    for line in cursors[i].readLines() where !line.isEmpty {
                        let (time, text) = LogLine.render(
                            line, node: id, raw: self.raw, multiNode: ids.count > 1, style: s)
                        last = time ?? last
                        lines.append((last, text))
                    }
                }
                return lines.sorted { $0.0 < $1.0 }
            }
            var first = batch(&cursors)
            if let limit = n ?? (follow ? 20 : nil) { first = Array(first.suffix(max(0, limit))) }
            for (_, text) in first { say(text) }
            guard follow else { return }
            while true {
                usleep(150_000)
                for (_, text) in batch(&cursors) { say(text) }
            }
        }
    }
}

/// Turns a node log line into terminal text.
enum LogLine {
    static func render(_ line: String, node: String, raw: Bool, multiNode: Bool, style: Style) -> (WallTime?, String) {
        let prefix = multiNode ? style.bold(node.padding(to: 7)) : ""
        guard line.hasPrefix("{"), let json = try? JSONValue.parse(line), case .object(let pairs) = json else {
            return (nil, prefix + line)  // not ours (a crash message on stderr): as is
        }
        let time = json["time"]?.stringValue.flatMap(WallTime.init(iso8601:))
        if raw { return (time, prefix + line) }
        if let event = Event(json: json) { return (time, Timeline.format(event, style: style)) }
        let level = json["level"]?.stringValue ?? "info"
        let color: Style.Color = level == "error" ? .red : (level == "warn" ? .yellow : .plain)
        let extra = pairs.filter { !["time", "level", "node", "msg"].contains($0.0) }.map {
            "\($0.0)=\($0.1.stringValue ?? $0.1.text)"
        }
        let clock = time.map { style.dim($0.localClock) + "  " } ?? ""
        let message = json["msg"]?.stringValue ?? ""
        return (
            time,
            clock + prefix + style.paint(level.padding(to: 6), color) + message
                + (extra.isEmpty ? "" : "  " + style.dim(extra.joined(separator: " ")))
        )
    }
}
