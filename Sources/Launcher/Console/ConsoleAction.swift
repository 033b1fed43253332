import Cluster
import Core

/// One control of the console: what the browser asks for (`{"action": "kill", "nodes": "node2"}`),
/// checked, and the devcluster command line that does it, so a button does exactly what the command
/// does (the same lock on the cluster home, the same launcher event in the timeline). Pure.
public struct ConsoleAction: Equatable, Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case kill, stop, start, restart, pause, resume, isolate, slow, wipe, heal, verify, partition
        case diskFull = "disk-full"
        case diskFullUndo = "disk-full-undo"
        case healPartition = "heal-partition"
        case corrupt

        /// Whether it names nodes (a selector).
        var takesNodes: Bool { ![.heal, .verify, .partition, .healPartition].contains(self) }
    }

    public let kind: Kind
    public let arguments: [String]

    /// Longest object name `corrupt` takes (bucket, slash, key).
    static let objectBytesMax = 1100

    /// Reads and checks a request body; the error says what is wrong, for the page to show.
    public static func parse(_ json: JSONValue, nodeCount: Int) throws(ConsoleActionError) -> ConsoleAction {
        guard let name = json["action"]?.stringValue, let kind = Kind(rawValue: name) else {
            throw ConsoleActionError(
                "unknown action: use one of " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        func selector(_ field: String) throws(ConsoleActionError) -> String {
            guard let text = json[field]?.stringValue, !text.hasPrefix("-") else {
                throw ConsoleActionError("\(name) needs \(field): e.g. node2, node1,node3, node2-4 or all")
            }
            do {
                _ = try NodeSelector(parsing: text, nodeCount: nodeCount)
            } catch {
                throw ConsoleActionError("\(field): \(error.description)")
            }
            return text
        }
        var arguments = [kind == .diskFullUndo ? Kind.diskFull.rawValue : kind.rawValue]
        if kind.takesNodes { arguments.append(try selector("nodes")) }
        switch kind {
        case .slow:
            guard let delay = json["delay"]?.stringValue, (try? DurationText.parse(delay)) != nil else {
                throw ConsoleActionError("slow needs a delay, e.g. 200ms")
            }
            arguments.append(delay)
        case .diskFullUndo:
            arguments.append("--undo")
        case .partition:
            arguments += [try selector("groupA"), try selector("groupB")]
        case .corrupt:
            guard let object = json["object"]?.stringValue, object.contains("/"), !object.hasPrefix("-"),
                object.utf8.count <= objectBytesMax, !object.contains("\0")
            else { throw ConsoleActionError("corrupt needs an object: BUCKET/KEY") }
            arguments.append(object)
        case .heal:
            arguments.append("--wait")
        default:
            break
        }
        return ConsoleAction(kind: kind, arguments: arguments)
    }
}

public struct ConsoleActionError: Error, Equatable, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
