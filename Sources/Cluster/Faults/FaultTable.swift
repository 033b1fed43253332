import Core

/// One injected fault on a directed link `from` -> `to` between two nodes: requests `from` sends to
/// `to` are dropped (never answered: the caller hits its own timeout), rejected (refused at once, as a
/// closed port is), delayed, or lost with a probability. Until `expiresAt` (ms since the epoch), if set.
public struct FaultRule: Codable, Equatable, Sendable {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        case drop, reject, delay, loss
        /// Not a link: node `from` (= `to`) refuses every write to its disk as a full one does.
        case diskFull = "disk-full"
    }

    public var from: String
    public var to: String
    public var mode: Mode
    /// `delay`: milliseconds added to each request, plus or minus up to `jitterMs`.
    public var delayMs: Int64?
    public var jitterMs: Int64?
    /// `loss`: the share of requests dropped, 0...1.
    public var probability: Double?
    public var expiresAt: Int64?

    public init(
        from: String, to: String, mode: Mode, delayMs: Int64? = nil, jitterMs: Int64? = nil,
        probability: Double? = nil, expiresAt: Int64? = nil
    ) {
        self.from = from
        self.to = to
        self.mode = mode
        self.delayMs = delayMs
        self.jitterMs = jitterMs
        self.probability = probability
        self.expiresAt = expiresAt
    }

    /// The `from` of a rule on S3 client traffic (`--clients`): every request a node gets that is not
    /// from a peer. No node can be named so (node ids are `node<N>`).
    public static let clients = "clients"

    /// The longest delay (and jitter) a rule can add: an hour, so no sum of delays can overflow.
    public static let delayMsMax: Int64 = 3_600_000

    public func isActive(at now: WallTime) -> Bool {
        expiresAt.map { now.millisecondsSinceEpoch < $0 } ?? true
    }

    /// `node1 -> node2 drop`, `node3 -> node1 delay 500ms±50ms`, `node2 disk-full` ...
    public var description: String {
        if mode == .diskFull { return "\(from) disk-full" }
        var text = "\(from) -> \(to) \(mode.rawValue)"
        if mode == .delay { text += " \(delayMs ?? 0)ms" + (jitterMs.map { $0 > 0 ? "±\($0)ms" : "" } ?? "") }
        if mode == .loss { text += " \(Int(((probability ?? 0) * 100).rounded()))%" }
        return text
    }
}

/// Every fault the cluster's operator wants, numbered so a node can say which table it applies
/// (`faults` shows wanted versus acknowledged). Pure: time and chance are passed in.
public struct FaultTable: Codable, Equatable, Sendable {
    /// What to do with one request on a link.
    public enum Action: Equatable, Sendable {
        case pass
        case drop
        case reject
        case delay(Duration)
    }

    public var version: UInt64
    public var rules: [FaultRule]

    public init(version: UInt64 = 0, rules: [FaultRule] = []) {
        self.version = version
        self.rules = rules
    }

    /// What happens to a request `from` sends `to` at `now`; `roll` is a uniform draw in 0..<1 (for
    /// loss) and `jitter` one in -1...1 (for delays). Refusals win over drops, drops over delays;
    /// delays on one link add up.
    public func action(from: String, to: String, at now: WallTime, roll: Double, jitter: Double) -> Action {
        var delay: Int64 = 0
        var dropped = false
        for rule in rules where rule.from == from && rule.to == to && rule.isActive(at: now) {
            switch rule.mode {
            case .reject: return .reject
            case .drop: dropped = true
            case .loss: if roll < (rule.probability ?? 0) { dropped = true }
            case .diskFull: break
            case .delay:
                let base = min(max(rule.delayMs ?? 0, 0), FaultRule.delayMsMax)
                let spread = Double(min(max(rule.jitterMs ?? 0, 0), FaultRule.delayMsMax)) * max(-1, min(1, jitter))
                delay = min(delay + max(0, base + Int64(spread.rounded())), FaultRule.delayMsMax)
            }
        }
        if dropped { return .drop }
        return delay > 0 ? .delay(.milliseconds(delay)) : .pass
    }

    /// The rules in force at `now`.
    public func active(at now: WallTime) -> [FaultRule] {
        rules.filter { $0.isActive(at: now) }
    }

    /// Whether `node`'s disk is to refuse writes at `now`.
    public func isDiskFull(_ node: String, at now: WallTime) -> Bool {
        active(at: now).contains { $0.mode == .diskFull && $0.from == node }
    }

    /// Whether any rule touches `node` (sent by it or to it) at `now`.
    public func touches(_ node: String, at now: WallTime) -> Bool {
        active(at: now).contains { $0.from == node || $0.to == node }
    }
}

/// What a node answers about its faults (`GET`/`PUT /_dc/v1/faults`): the table it applies and the
/// rules in force now.
public struct FaultReport: Codable, Equatable, Sendable {
    public var node: String
    public var enabled: Bool
    public var version: UInt64
    public var rules: [FaultRule]
    public var active: [FaultRule]

    public init(node: String, enabled: Bool, version: UInt64, rules: [FaultRule], active: [FaultRule]) {
        self.node = node
        self.enabled = enabled
        self.version = version
        self.rules = rules
        self.active = active
    }
}

extension EventKind {
    /// A node began applying an injected fault on one of its links.
    public static let faultInjected = EventKind("fault_injected")
    /// A fault ended: cleared by the operator or expired.
    public static let faultCleared = EventKind("fault_cleared")
}
