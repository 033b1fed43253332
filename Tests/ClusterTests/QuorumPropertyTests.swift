import Core
import Storage
import Testing

@testable import Cluster

/// Properties of the pure quorum decisions over every combination of node states, for small clusters.
@Suite("quorum properties")
struct QuorumPropertyTests {
    /// What one node holds of a key that was written twice (`old`, then `new`), and whether it answers.
    enum Truth: CaseIterable {
        case old, new, none, noBucket
    }

    static let old = ObjectVersion(versionID: "null", modTime: 10, size: 1, etag: "old")
    static let new = ObjectVersion(versionID: "null", modTime: 20, size: 1, etag: "new")

    static func answer(_ t: Truth) -> Result<ObjectMetadata, StoreError> {
        switch t {
        case .old: .success(ObjectMetadata(versions: [old]))
        case .new: .success(ObjectMetadata(versions: [new, old]))
        case .none: .failure(.storage(.objectNotFound(bucket: "b", key: "k")))
        case .noBucket: .failure(.storage(.bucketNotFound("b")))
        }
    }

    /// Every assignment of `Truth` to `n` nodes, each node answering or not (`nil`: unreachable).
    static func everyCombination(_ n: Int) -> [[Truth?]] {
        var all: [[Truth?]] = [[]]
        let states: [Truth?] = Truth.allCases.map { $0 } + [nil]
        for _ in 0..<n { all = all.flatMap { prefix in states.map { prefix + [$0] } } }
        return all
    }

    static func answers(_ nodes: [Truth?]) -> [NodeID: Result<ObjectMetadata, StoreError>] {
        var out: [NodeID: Result<ObjectMetadata, StoreError>] = [:]
        for (i, t) in nodes.enumerated() {
            out[.forIndex(i)] = t.map(answer) ?? .failure(.unreachable("down"))
        }
        return out
    }

    @Test(
        "resolve says found only for the newest write a read quorum holds, not-found only when a quorum says so",
        arguments: 1...6)
    func resolveIsExact(nodes: Int) throws {
        for parity in 0...(nodes / 2) {
            let set = try ErasureSet(nodes: nodes, parity: parity)
            for combination in Self.everyCombination(nodes) {
                let count = { (t: Truth) in combination.count { $0 == t } }
                // A node holding `new` holds `old` below it; the latest of each is what a read sees.
                let newest = count(.new) >= set.readQuorum ? Self.new : count(.old) >= set.readQuorum ? Self.old : nil
                let result = Quorum.resolve(Self.answers(combination), set: set)
                switch result {
                case .found(let v, let holders):
                    #expect(v == newest && holders.count >= set.readQuorum, "\(combination) -> \(result)")
                case .notFound:
                    #expect(newest == nil && count(.none) + count(.noBucket) >= set.readQuorum, "\(combination)")
                case .noSuchBucket:
                    #expect(newest == nil && count(.noBucket) >= set.readQuorum, "\(combination)")
                case .unavailable:
                    #expect(
                        newest == nil && count(.none) + count(.noBucket) < set.readQuorum
                            || newest == nil && count(.old) + count(.new) >= set.readQuorum, "\(combination)")
                }
            }
        }
    }

    @Test(
        "a write that reached its write quorum is never read older, with at most parity nodes unreachable",
        arguments: 1...6)
    func acknowledgedWritesAreNeverReadOlder(nodes: Int) throws {
        for parity in 0...(nodes / 2) {
            let set = try ErasureSet(nodes: nodes, parity: parity)
            for truth in Self.everyCombination(nodes) where !truth.contains(nil) && !truth.contains(.noBucket) {
                guard truth.count(where: { $0 == .new }) >= set.writeQuorum else { continue }
                // Every way of losing up to `parity` nodes.
                for mask in 0..<(1 << nodes) where mask.nonzeroBitCount <= parity {
                    let seen = truth.enumerated().map { i, t in mask & (1 << i) == 0 ? t : nil }
                    let result = Quorum.resolve(Self.answers(seen), set: set)
                    switch result {
                    case .found(let v, _): #expect(v == Self.new, "\(seen): read \(v.etag)")
                    case .unavailable: #expect(mask != 0, "every node answered: \(seen)")
                    default: Issue.record("\(seen) -> \(result) after an acknowledged write")
                    }
                }
            }
        }
    }

    @Test("more answers never make a found object older or lost", arguments: 1...5)
    func moreAnswersNeverHurt(nodes: Int) throws {
        for parity in 0...(nodes / 2) {
            let set = try ErasureSet(nodes: nodes, parity: parity)
            for combination in Self.everyCombination(nodes) {
                guard case .found(let before, _) = Quorum.resolve(Self.answers(combination), set: set),
                    let silent = combination.firstIndex(where: { $0 == nil })
                else { continue }
                for t in Truth.allCases {
                    var more = combination
                    more[silent] = t
                    guard case .found(let after, _) = Quorum.resolve(Self.answers(more), set: set) else {
                        Issue.record("\(combination) found \(before.etag); with node \(silent) \(t): lost")
                        continue
                    }
                    #expect(after.modTime >= before.modTime, "\(combination) + \(t)")
                }
            }
        }
    }

    @Test(
        "every key is placed on k + m distinct nodes, evenly within a stated bound",
        arguments: [1, 2, 3, 4, 5, 8, 12, 16])
    func placement(nodes: Int) throws {
        let set = try ErasureSet(nodes: nodes)
        let keys = 200 * nodes
        var firstShard = [Int](repeating: 0, count: nodes)
        for i in 0..<keys {
            let d = set.distribution(bucket: "b\(i % 7)", key: "folder/\(i)/object")
            #expect(d.sorted() == Array(0..<nodes))
            firstShard[d.firstIndex(of: 0)!] += 1
        }
        // 200 keys per node expected; a binomial spread keeps each within 35 % of it (over 4 sigma).
        #expect(firstShard.allSatisfy { abs($0 - 200) <= 70 }, "\(firstShard)")
    }
}

@Suite("lock table properties")
struct LockTablePropertyTests {
    /// A seeded run of acquires, refreshes and releases by a few owners on one resource, with a clock
    /// that mostly moves forward and sometimes steps back: the table never lets two owners hold an
    /// unexpired grant at once, and it grants exactly when a simple model says the resource is free.
    @Test("at most one owner holds an unexpired grant, whatever the order of calls", arguments: [1, 2, 3, 4, 5])
    func oneHolder(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        var table = LockTable()
        var model: (owner: String, expires: Instant)?
        var now = Instant(nanoseconds: 1_000_000_000)
        let ttl: Duration = .milliseconds(500)
        for _ in 0..<5000 {
            let step = Int64.random(in: -50...200, using: &g)
            now =
                step >= 0
                ? now + .milliseconds(step) : Instant(nanoseconds: now.nanoseconds - UInt64(-step) * 1_000_000)
            let owner = "o\(Int.random(in: 0..<3, using: &g))"
            let free = model.map { now >= $0.expires || $0.owner == owner } ?? true
            switch Int.random(in: 0..<3, using: &g) {
            case 0:
                let granted = table.acquire("r", owner: owner, now: now, ttl: ttl)
                #expect(
                    granted == free, "acquire by \(owner) at \(now.nanoseconds): model \(String(describing: model))")
                if granted { model = (owner, now + ttl) }
            case 1:
                let held = model.map { $0.owner == owner && now < $0.expires } ?? false
                let refreshed = table.refresh("r", owner: owner, now: now, ttl: ttl)
                if refreshed {
                    #expect(free, "refreshed a grant another owner holds")
                    model = (owner, now + ttl)
                } else {
                    #expect(!held, "the holder's refresh was refused")
                }
            default:
                table.release("r", owner: owner)
                if model?.owner == owner { model = nil }
            }
        }
    }
}
