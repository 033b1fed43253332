/// The name of something that happened in the cluster. Each layer declares its own kinds as static
/// members (`EventKind.nodeOffline` in Cluster, heal kinds in the healing layer), so the set grows with
/// the product while the wire form stays a plain string.
public struct EventKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One entry of the cluster timeline: who saw what, when. Written as a JSON line in the node log, served
/// by the node's events endpoint, and merged by `devcluster events`.
public struct Event: Sendable, Equatable {
    /// Position in the reporting node's event log (assigned by the log; 0 before).
    public var sequence: UInt64
    public var time: WallTime
    /// The node (or "devcluster" for launcher actions) that reports the event.
    public var source: String
    public var kind: EventKind
    /// Kind-specific details, e.g. `peer`, `reason`, `lastHeardMs`, `incarnation`.
    public var fields: [(String, JSONValue)]

    public init(
        sequence: UInt64 = 0, time: WallTime = .now(), source: String, kind: EventKind,
        fields: [(String, JSONValue)] = []
    ) {
        self.sequence = sequence
        self.time = time
        self.source = source
        self.kind = kind
        self.fields = fields
    }

    public static func == (lhs: Event, rhs: Event) -> Bool {
        lhs.json == rhs.json
    }

    public subscript(field: String) -> JSONValue? {
        fields.first { $0.0 == field }?.1
    }

    static let reservedKeys: Set<String> = ["seq", "time", "node", "event", "level", "msg"]

    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("time", .string(time.iso8601)), ("node", .string(source)), ("event", .string(kind.rawValue)),
        ]
        if sequence > 0 { pairs.append(("seq", .int(Int64(sequence)))) }
        pairs.append(contentsOf: fields.filter { !Event.reservedKeys.contains($0.0) })
        return .object(pairs)
    }

    /// Reads an event back from its JSON form (a node log line or an events endpoint line); nil for any
    /// other log line.
    public init?(json: JSONValue) {
        guard case .object(let pairs) = json, let kind = json["event"]?.stringValue,
            let source = json["node"]?.stringValue, let timeText = json["time"]?.stringValue,
            let time = WallTime(iso8601: timeText)
        else { return nil }
        self.init(
            sequence: UInt64(max(0, json["seq"]?.intValue ?? 0)), time: time, source: source,
            kind: EventKind(kind), fields: pairs.filter { !Event.reservedKeys.contains($0.0) })
    }
}
