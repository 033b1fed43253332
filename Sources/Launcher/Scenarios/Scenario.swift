import Core

/// A scenario: a tutorial that is also a test (DESIGN.md section 13). A text file of steps, one a line
/// (`#` starts a comment; the comment lines before the first step say what the scenario shows):
///
/// ```
/// say TEXT                                   narration
/// run devcluster ARGS                        a devcluster command that must succeed
/// show devcluster ARGS                       a devcluster command shown whatever its exit status
/// expect NODES=STATE [seen by NODES] within D        devcluster wait-for NODES=STATE --within D
/// write N objects of SIZE-SIZE to BUCKET/PREFIX [refused]   seeded random objects through S3
/// check objects                              every object written reads back byte-exact
/// read the objects N times via NODE within D GET every object N times through NODE; p99 under D
/// verify within D                            devcluster verify is clean within D
/// event KIND from|about NODE within D        an event KIND reported by NODE, or about NODE
/// ```
///
/// `{port}` in a command is the cluster's base port. Parsing is pure; `ScenarioRun` performs the steps.
public struct Scenario: Sendable, Equatable {
    public var name: String
    /// What the scenario shows: its leading comment, one line each.
    public var summary: [String]
    public var steps: [Step]

    public struct Step: Sendable, Equatable {
        /// The line in the file (1-based), for messages.
        public var line: Int
        public var action: Action
        /// The step as written, after its verb (what a narrated run prints).
        public var text: String
        public var verb: String
    }

    public enum EventRelation: String, Sendable, Equatable {
        /// The node reports the event.
        case from
        /// The event is about the node (its peer or its shard), from any node.
        case about
    }

    public enum Action: Sendable, Equatable {
        case say(String)
        /// devcluster's arguments; `mustSucceed` false for `show`.
        case run(arguments: [String], mustSucceed: Bool)
        case expect(condition: String, seenBy: String?, within: Duration)
        case write(count: Int, sizes: ClosedRange<Int>, bucket: String, prefix: String, refused: Bool)
        case checkObjects
        case read(times: Int, node: String, within: Duration)
        case verify(within: Duration)
        case event(kind: EventKind, relation: EventRelation, node: String, within: Duration)
    }

    /// The most objects one write step makes, and the largest object: a scenario is a tutorial.
    public static let writeCountMax = 10_000
    public static let objectBytesMax = 64 << 20
    /// The most times a read step reads every object.
    public static let readTimesMax = 100

    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String, name: String) throws(Invalid) -> Scenario {
        var scenario = Scenario(name: name, summary: [], steps: [])
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmingSpaces()
            if line.hasPrefix("#") {
                if scenario.steps.isEmpty { scenario.summary.append(String(line.dropFirst()).trimmingSpaces()) }
                continue
            }
            guard !line.isEmpty else { continue }
            let verb = String(line.prefix { $0 != " " })
            let rest = String(line.dropFirst(verb.count)).trimmingSpaces()
            do throws(Invalid) {
                let action = try parseAction(verb, rest)
                scenario.steps.append(Step(line: index + 1, action: action, text: rest, verb: verb))
            } catch {
                throw Invalid(description: "\(name).scenario:\(index + 1): \(error.description)")
            }
        }
        guard scenario.steps.contains(where: { if case .say = $0.action { false } else { true } }) else {
            throw Invalid(description: "\(name).scenario has no steps")
        }
        return scenario
    }

    private static func parseAction(_ verb: String, _ rest: String) throws(Invalid) -> Action {
        let words = rest.split(separator: " ").map(String.init)
        switch verb {
        case "say":
            return .say(rest)
        case "run", "show":
            guard words.first == "devcluster", words.count > 1 else {
                throw Invalid(description: "a scenario runs devcluster commands: \(verb) devcluster ARGS")
            }
            return .run(arguments: Array(words.dropFirst()), mustSucceed: verb == "run")
        case "expect":
            // NODES=STATE [seen by NODES] within D
            guard words.count == 3 || words.count == 6, words[words.count - 2] == "within",
                words.count == 3 || (words[1] == "seen" && words[2] == "by")
            else { throw Invalid(description: "expect NODES=STATE [seen by NODES] within D") }
            return .expect(
                condition: words[0], seenBy: words.count == 6 ? words[3] : nil, within: try duration(words.last!))
        case "write":
            // N objects of SIZE-SIZE to BUCKET/PREFIX [refused]
            guard words.count == 6 || (words.count == 7 && words[6] == "refused"), words[1] == "objects",
                words[2] == "of", words[4] == "to", let count = Int(words[0]), (1...writeCountMax).contains(count)
            else {
                throw Invalid(
                    description: "write N objects of SIZE-SIZE to BUCKET/PREFIX [refused] (N up to \(writeCountMax))")
            }
            let bounds = words[3].split(separator: "-", maxSplits: 1).map(String.init)
            guard bounds.count == 2 else {
                throw Invalid(description: "'\(words[3])' is not SIZE-SIZE, e.g. 1KiB-3MiB")
            }
            let low = try size(bounds[0])
            let high = try size(bounds[1])
            guard low <= high else { throw Invalid(description: "\(words[3]): the smaller size comes first") }
            guard let slash = words[5].firstIndex(of: "/"), slash != words[5].startIndex else {
                throw Invalid(description: "'\(words[5])' is not BUCKET/PREFIX")
            }
            return .write(
                count: count, sizes: low...high, bucket: String(words[5][..<slash]),
                prefix: String(words[5][words[5].index(after: slash)...]), refused: words.count == 7)
        case "check":
            guard rest == "objects" else { throw Invalid(description: "check objects") }
            return .checkObjects
        case "read":
            // the objects N times via NODE within D
            guard words.count == 8, words[0] == "the", words[1] == "objects", words[3] == "times", words[4] == "via",
                words[6] == "within", let times = Int(words[2]), (1...readTimesMax).contains(times)
            else { throw Invalid(description: "read the objects N times via NODE within D (N up to \(readTimesMax))") }
            return .read(times: times, node: words[5], within: try duration(words[7]))
        case "verify":
            guard words.count == 2, words[0] == "within" else { throw Invalid(description: "verify within D") }
            return .verify(within: try duration(words[1]))
        case "event":
            guard words.count == 5, let relation = EventRelation(rawValue: words[1]), words[3] == "within" else {
                throw Invalid(description: "event KIND from|about NODE within D")
            }
            return .event(kind: EventKind(words[0]), relation: relation, node: words[2], within: try duration(words[4]))
        default:
            throw Invalid(
                description: "unknown step '\(verb)': say, run, show, expect, write, check, read, verify or event")
        }
    }

    private static func duration(_ text: String) throws(Invalid) -> Duration {
        do {
            return try DurationText.parse(text)
        } catch {
            throw Invalid(description: error.description)
        }
    }

    /// `512B`, `1KiB`, `3MiB`.
    static func size(_ text: String) throws(Invalid) -> Int {
        for (suffix, unit) in [("KiB", 1 << 10), ("MiB", 1 << 20), ("B", 1)] where text.hasSuffix(suffix) {
            if let n = Int(text.dropLast(suffix.count)), n >= 0, n <= objectBytesMax / unit { return n * unit }
        }
        throw Invalid(description: "'\(text)' is not a size like 512B, 1KiB or 3MiB (at most 64MiB)")
    }
}
