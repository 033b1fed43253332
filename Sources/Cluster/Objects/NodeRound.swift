import Core
import Loop

/// One round of calls to several nodes at once (read metadata, finish shard files, commit). It ends
/// when every node has answered, or once `enough` answers count and the rest have had `grace` more:
/// a paused or partitioned node then costs a request `grace`, not its calls' timeouts, until the
/// failure detector declares it offline. The nodes given up on end with `.unreachable`. Loop-bound.
final class NodeRound<T>: StallChecked {
    private var waiting: Set<NodeID>
    private var answers: [NodeID: Result<T, StoreError>] = [:]
    private let enough: Int
    private let grace: Duration
    private let counts: (Result<T, StoreError>) -> Bool
    /// Whether the round may end now, without its grace, given the nodes still awaited and the
    /// answers in (reads: only known-slow nodes are left, and they would add nothing needed).
    private let endsEarly: (Set<NodeID>, [NodeID: Result<T, StoreError>]) -> Bool
    private let watch: StragglerWatch
    private var enoughSince: Instant?
    private var end: (([NodeID: Result<T, StoreError>]) -> Void)?

    init(
        nodes: [NodeID], enough: Int, grace: Duration, watch: StragglerWatch,
        counts: @escaping (Result<T, StoreError>) -> Bool,
        endsEarly: @escaping (Set<NodeID>, [NodeID: Result<T, StoreError>]) -> Bool = { _, _ in false },
        end: @escaping ([NodeID: Result<T, StoreError>]) -> Void
    ) {
        waiting = Set(nodes)
        self.enough = enough
        self.grace = grace
        self.counts = counts
        self.endsEarly = endsEarly
        self.watch = watch
        self.end = end
        if nodes.isEmpty { finish() }
    }

    func answered(_ node: NodeID, _ result: Result<T, StoreError>) {
        guard end != nil, waiting.remove(node) != nil else { return }
        answers[node] = result
        if waiting.isEmpty { return finish() }
        if enoughSince == nil && answers.values.count(where: counts) >= enough {
            enoughSince = watch.loop.iterationTime
            watch.add(self)
        }
        if enoughSince != nil && endsEarly(waiting, answers) { giveUpOnStragglers("known to be slow") }
    }

    func checkStall(now: Instant) {
        guard end != nil, let since = enoughSince, now.since(since) >= grace else { return }
        giveUpOnStragglers("no answer within \(DurationText.format(grace)) of the others")
    }

    private func giveUpOnStragglers(_ why: String) {
        for node in waiting { answers[node] = .failure(.unreachable(why)) }
        finish()
    }

    private func finish() {
        watch.remove(self)
        let end = self.end
        self.end = nil
        waiting = []
        end?(answers)
    }
}

/// Something `StragglerWatch` checks on its tick.
protocol StallChecked: AnyObject {
    func checkStall(now: Instant)
}

/// One timer for every round of the object layer that waits on stragglers: it ticks only while some
/// round does, and never keeps the loop alive by itself. Loop-bound.
final class StragglerWatch {
    let loop: EventLoop
    static let tick: Duration = .milliseconds(50)
    private var rounds: [ObjectIdentifier: StallChecked] = [:]
    private var timer: Timer?

    init(loop: EventLoop) {
        self.loop = loop
    }

    func add(_ round: StallChecked) {
        rounds[ObjectIdentifier(round)] = round
        if timer == nil, let t = try? Timer(loop: loop, label: "straggler watch") {
            t.unref()
            t.start(after: StragglerWatch.tick, repeating: StragglerWatch.tick) { [unowned self] in
                let now = loop.iterationTime
                for round in Array(rounds.values) { round.checkStall(now: now) }
            }
            timer = t
        }
    }

    func remove(_ round: StallChecked) {
        rounds[ObjectIdentifier(round)] = nil
        if rounds.isEmpty {
            timer?.close()
            timer = nil
        }
    }

    func close() {
        rounds = [:]
        timer?.close()
        timer = nil
    }
}
