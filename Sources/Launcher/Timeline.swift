import Core

#if canImport(Glibc)
import Glibc
#endif

/// The merged timeline of `devcluster events`: every node's events (JSON lines in its log) and the
/// launcher's own actions, ordered by time.
public enum Timeline {
    /// Events read incrementally from one file (a node log or the launcher's events file).
    public struct Cursor: Sendable {
        private var lines: LineCursor

        /// Reads `path` from `offset` on (a file shorter than that by then is read from its start).
        public init(path: String, from offset: Int = 0) { lines = LineCursor(path: path, offset: offset) }

        /// New events since the last read; other log lines are skipped.
        public mutating func readEvents() -> [Event] {
            lines.readLines().compactMap(Timeline.event(in:))
        }
    }

    /// The event a log line holds, if it is an event line.
    public static func event(in line: String) -> Event? {
        guard line.hasPrefix("{"), let json = try? JSONValue.parse(line) else { return nil }
        return Event(json: json)
    }

    /// Orders events by time, then by source and sequence (stable for equal timestamps).
    public static func sorted(_ events: [Event]) -> [Event] {
        events.sorted { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.source != b.source { return a.source < b.source }
            return a.sequence < b.sequence
        }
    }

    /// One line for a terminal: `14:02:18.076  node4       node_offline     node2 offline: no heartbeat for 1s`.
    public static func format(_ event: Event, style: Style) -> String {
        let kind = event.kind.rawValue
        let text = describe(event)
        let color: Style.Color =
            switch kind {
            case "node_offline": .red
            case "node_suspect", "node_stalled", "node_stopping": .yellow
            case "node_online", "node_started": .green
            case "node_restarted", "heal_started", "heal_progress": .cyan
            case "heal_finished": .green
            case "bitrot_detected": .red
            default: kind.hasPrefix("launcher_") ? .magenta : .plain
            }
        let source = event.source.padding(to: 11)
        return
            "\(style.dim(event.time.localClock))  \(style.bold(source))\(style.paint(kind.padding(to: 17), color))\(text)"
    }

    static func describe(_ e: Event) -> String {
        let peer = e["peer"]?.stringValue ?? ""
        let reason = e["reason"]?.stringValue ?? ""
        switch e.kind.rawValue {
        case "node_suspect": return "\(peer) suspect: \(reason)"
        case "node_offline": return "\(peer) offline: \(reason)"
        case "node_online":
            if e["firstContact"]?.boolValue == true { return "\(peer) online (first contact)" }
            return "\(peer) online again (was \(e["previous"]?.stringValue ?? "?"))"
        case "node_restarted":
            return "\(peer) restarted (new incarnation \(e["incarnation"]?.intValue.map(String.init) ?? "?"))"
        case "node_stalled":
            return "this node did not run for \(e["gapMs"]?.intValue.map { "\($0)ms" } ?? "?"); peers were not blamed"
        case "node_started":
            return "started, pid \(e["pid"]?.intValue.map(String.init) ?? "?"), \(e["endpoint"]?.stringValue ?? "")"
        case "node_stopping": return "stopping (\(reason))"
        case "bitrot_detected":
            let object = (e["bucket"]?.stringValue ?? "") + "/" + (e["key"]?.stringValue ?? "")
            return "\(object): \(e["shardNode"]?.stringValue ?? "?")'s shard is \(e["problem"]?.stringValue ?? "bad")"
                + " (found by \(e["by"]?.stringValue ?? "?")\(e["detail"]?.stringValue.map { $0.isEmpty ? "" : ": " + $0 } ?? ""))"
        case "heal_started":
            return "rebuilding this node from its peers: \(e["objectsTotal"]?.intValue ?? 0) objects, "
                + ByteSize.format(e["bytesTotal"]?.intValue ?? 0)
        case "heal_progress":
            let rate = e["bytesPerSecond"]?.intValue ?? 0
            let eta = e["etaMs"]?.intValue.map { ", ETA " + DurationText.format(.milliseconds($0)) } ?? ""
            return "\(e["objectsDone"]?.intValue ?? 0)/\(e["objectsTotal"]?.intValue ?? 0) objects, "
                + "\(ByteSize.format(e["bytesDone"]?.intValue ?? 0))/\(ByteSize.format(e["bytesTotal"]?.intValue ?? 0))"
                + (rate > 0 ? ", \(ByteSize.format(rate))/s" : "") + eta
        case "heal_finished":
            let failed = e["failed"]?.intValue ?? 0
            return "rebuilt: \(e["objects"]?.intValue ?? 0) objects, \(ByteSize.format(e["bytes"]?.intValue ?? 0)) in "
                + DurationText.format(.milliseconds(e["ms"]?.intValue ?? 0)) + (failed > 0 ? ", \(failed) failed" : "")
        default:
            if e.kind.rawValue.hasPrefix("launcher_") {
                let target = e["target"]?.stringValue ?? ""
                let detail = e["detail"]?.stringValue ?? ""
                return [target, detail].filter { !$0.isEmpty }.joined(separator: ": ")
            }
            return e.fields.map { "\($0.0)=\($0.1.stringValue ?? $0.1.text)" }.joined(separator: " ")
        }
    }
}

extension EventKind {
    /// Launcher actions in the timeline, reported with source `devcluster`.
    public static func launcher(_ action: String) -> EventKind { EventKind("launcher_\(action)") }
}

extension String {
    /// Pads with spaces to `width` (and always leaves one space after), for terminal columns.
    public func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
