import Core
import Loop

/// A write lock on one object, held on a quorum of nodes (N/2 + 1) while a write commits, so two
/// writers of one key commit one after the other. Each node's grant expires after `ttl` unless
/// refreshed, so a holder that died (or froze) blocks the key for at most that long. Loop-bound.
final class ObjectLock {
    static let ttl: Duration = .seconds(5)
    static let refreshEvery: Duration = .seconds(1)
    /// How long a writer waits for a lock held by others before it gives up (503 SlowDown).
    static let waitMax: Duration = .seconds(15)
    /// The grants of one round are counted once a quorum said yes and the others had this long.
    static let roundGrace: Duration = .milliseconds(100)

    let layer: ObjectLayer
    let resource: String
    let owner = Crypto.randomBytes(8).hexString
    private var granted: [NodeID] = []
    private var refresher: Timer?
    private var released = false
    private var attempts = 0

    init(layer: ObjectLayer, bucket: String, key: String) {
        self.layer = layer
        resource = bucket + "/" + key
    }

    var quorum: Int { layer.set.metadataQuorum }

    /// Acquires the lock, retrying with back-off while others hold it; nil when held.
    func acquire(_ done: @escaping (ObjectError?) -> Void) {
        let deadline = layer.loop.iterationTime + ObjectLock.waitMax
        attempt(until: deadline, done)
    }

    private func attempt(until deadline: Instant, _ done: @escaping (ObjectError?) -> Void) {
        attempts += 1
        let nodes = layer.stores.filter { layer.isReachable($0.id) }.map(\.id)
        let round = NodeRound<Bool>(
            nodes: nodes, enough: quorum, grace: ObjectLock.roundGrace, watch: layer.stragglers,
            counts: { (try? $0.get()) == true }
        ) { [self] answers in
            let yes = answers.filter { (try? $0.value.get()) == true }.map(\.key)
            if yes.count >= quorum {
                granted = yes
                startRefreshing()
                return done(nil)
            }
            // Someone else holds it (or too few nodes answered): give back what we got, try again.
            send(.release, to: yes)
            guard layer.loop.iterationTime < deadline else {
                return done(.lockTimeout(resource: resource, waited: ObjectLock.waitMax))
            }
            // Random back-off, growing: two writers that split the nodes between them part ways.
            let base = min(200, 5 << min(attempts, 5))
            Timer.once(layer.loop, .milliseconds(Int64.random(in: Int64(base / 2)...Int64(base)))) { [self] in
                attempt(until: deadline, done)
            }
        }
        for id in nodes {
            layer.store(id).lock(.acquire, resource: resource, owner: owner, ttl: ObjectLock.ttl) {
                round.answered(id, $0)
            }
        }
    }

    private func startRefreshing() {
        guard let timer = try? Timer(loop: layer.loop, label: "object lock refresh") else { return }
        refresher = timer
        timer.start(after: ObjectLock.refreshEvery, repeating: ObjectLock.refreshEvery) { [weak self] in
            guard let self else { return }
            self.send(.refresh, to: self.granted)
        }
    }

    /// Gives the lock back (idempotent).
    func release() {
        guard !released else { return }
        released = true
        refresher?.close()
        refresher = nil
        send(.release, to: granted)
        granted = []
    }

    private func send(_ op: LockOp, to nodes: [NodeID]) {
        for id in nodes {
            layer.store(id).lock(op, resource: resource, owner: owner, ttl: ObjectLock.ttl) { _ in }
        }
    }
}

extension ObjectLayer {
    /// Runs `body` holding the write lock of `bucket/key`; `body` calls its argument when done, which
    /// releases the lock. Fails without running it when the lock cannot be had in time.
    func locked(
        bucket: String, key: String, failed: @escaping (ObjectError) -> Void,
        _ body: @escaping (@escaping () -> Void) -> Void
    ) {
        let lock = ObjectLock(layer: self, bucket: bucket, key: key)
        lock.acquire { error in
            if let error { return failed(error) }
            body { lock.release() }
        }
    }
}
