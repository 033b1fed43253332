import Admin
import Cluster

/// What `devcluster wait-for` waits for, e.g. `node2=offline --seen-by all`, `all=online`,
/// `node3=stopped`. Pure: evaluated against a snapshot of the cluster.
public struct WaitCondition: Equatable, Sendable {
    public enum Target: Equatable, Sendable {
        /// As seen by the observers, through heartbeats.
        case view(FailureDetector.State)
        /// The process, as the launcher sees it.
        case process(ProcessState)
    }

    public let subjects: [String]
    public let target: Target
    /// Who must see it (for view states); nil: every running node other than the subject.
    public let observers: [String]?

    public struct Invalid: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(parsing text: String, seenBy: String?, nodeCount: Int) throws(Invalid) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw Invalid(description: "'\(text)' is not NODE=STATE: e.g. node2=offline, all=online, node3=stopped")
        }
        do throws(NodeSelector.Invalid) {
            subjects = try NodeSelector(parsing: parts[0], nodeCount: nodeCount).ids
            if let seenBy {
                observers = try NodeSelector(parsing: seenBy, nodeCount: nodeCount).ids
            } else {
                observers = nil
            }
        } catch {
            throw Invalid(description: error.description)
        }
        if let state = FailureDetector.State(rawValue: parts[1]) {
            target = .view(state)
        } else if let state = ProcessState(rawValue: parts[1]), state != .remote {
            guard seenBy == nil else {
                throw Invalid(description: "--seen-by applies to online/suspect/offline, not to '\(parts[1])'")
            }
            target = .process(state)
        } else {
            throw Invalid(
                description:
                    "unknown state '\(parts[1])': use online, suspect, offline (as peers see it) or running, stopped, paused"
            )
        }
    }

    /// Whether the condition holds in `snapshot`, and if not, why (for the timeout message).
    public func evaluate(_ snapshot: ClusterSnapshot) -> (holds: Bool, unmet: [String]) {
        var unmet: [String] = []
        for subject in subjects {
            switch target {
            case .process(let state):
                let actual = snapshot.nodes.first { $0.id == subject }?.process ?? .stopped
                if actual != state { unmet.append("\(subject) is \(actual.rawValue)") }
            case .view(let state):
                let watchers = (observers ?? snapshot.nodes.filter { $0.process.mayAnswer }.map(\.id)).filter {
                    $0 != subject
                }
                for watcher in watchers {
                    guard let status = snapshot.nodes.first(where: { $0.id == watcher })?.status else {
                        unmet.append("\(watcher) is not answering")
                        continue
                    }
                    let seen = status.view[subject] ?? .offline
                    if seen != state { unmet.append("\(watcher) sees \(subject) \(seen.rawValue)") }
                }
            }
        }
        return (unmet.isEmpty, unmet)
    }
}
