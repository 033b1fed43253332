import Core

/// A fault the chaos nemesis applies to some nodes.
public enum ChaosFault: String, CaseIterable, Sendable {
    case kill, pause, isolate, split, slow, corrupt
    case diskFull = "disk-full"
}

/// One fault of a round: on which nodes, when it starts (from the round's start), how long it holds,
/// and the choices within it.
public struct ChaosStep: Sendable, Equatable {
    public var fault: ChaosFault
    public var nodes: [String]
    public var startMs: Int64
    public var holdMs: Int64
    /// isolate, split: refused at once rather than never answered.
    public var refuses = false
    /// slow: the delay (its jitter is a quarter of it).
    public var delayMs: Int64 = 0
    /// corrupt: which of the large keys (an index, taken modulo their count).
    public var keyPick = 0
}

/// The nemesis's choices, from a seeded generator so a run can be replayed. Pure.
///
/// A round is one or two faults on distinct nodes, at most `parity` nodes in all (the store promises
/// nothing past that). The next round starts only once the cluster has recovered from this one, so a
/// node that just came back and is still catching up is never counted as healthy.
public enum NemesisPlan {
    static let holdMs: ClosedRange<Int64> = 2_000...6_000
    static let secondFaultStartMs: ClosedRange<Int64> = 0...2_000
    /// Under the demo heartbeat deadline (200 ms ... 1 s): slow, not dead, for most profiles.
    static let slowDelayMs: ClosedRange<Int64> = 100...400
    /// The quiet time between one round's recovery and the next round.
    static let gapMs: ClosedRange<Int64> = 500...1_500

    public static func gap(using g: inout SeededGenerator) -> Duration {
        .milliseconds(Int64.random(in: gapMs, using: &g))
    }

    public static func round(
        nodes: [String], parity: Int, faults: [ChaosFault], using g: inout SeededGenerator
    ) -> [ChaosStep] {
        guard parity > 0, !faults.isEmpty, nodes.count > 1 else { return [] }
        var free = nodes
        var budget = parity
        var steps: [ChaosStep] = []
        while budget > 0, !free.isEmpty, steps.count < 2 {
            let fault = faults[Int.random(in: 0..<faults.count, using: &g)]
            let most: Int
            switch fault {
            case .kill, .pause, .diskFull: most = min(budget, free.count)
            // The cut-off side of a split is the smaller one, so the nodes it counts as failed are those.
            case .split: most = min(budget, free.count, nodes.count / 2)
            case .isolate, .slow, .corrupt: most = 1
            }
            guard most > 0 else { break }
            free.shuffle(using: &g)
            let chosen = Array(free.prefix(Int.random(in: 1...most, using: &g)))
            free.removeAll { chosen.contains($0) }
            budget -= chosen.count
            var step = ChaosStep(
                fault: fault, nodes: chosen.sorted(),
                startMs: steps.isEmpty ? 0 : Int64.random(in: secondFaultStartMs, using: &g),
                holdMs: Int64.random(in: holdMs, using: &g))
            step.refuses = Bool.random(using: &g)
            step.delayMs = Int64.random(in: slowDelayMs, using: &g)
            step.keyPick = Int.random(in: 0..<1_000, using: &g)
            steps.append(step)
            // Half the rounds stop at one fault.
            if Bool.random(using: &g) { break }
        }
        return steps
    }

    /// `kill,partition` style lists; `all` (or nil) is every fault. `partition` means isolate and split.
    public static func parseFaults(_ text: String?) -> [ChaosFault]? {
        guard let text, text != "all" else { return ChaosFault.allCases }
        var out: [ChaosFault] = []
        for name in text.split(separator: ",").map(String.init) {
            if name == "partition" {
                out += [.isolate, .split]
            } else if let f = ChaosFault(rawValue: name) {
                out.append(f)
            } else {
                return nil
            }
        }
        return out.isEmpty ? nil : out
    }
}
