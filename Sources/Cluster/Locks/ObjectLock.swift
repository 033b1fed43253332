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
        resource = ObjectLock.resource(bucket: bucket, key: key)
    }

    /// The name of an object's lock in every node's `LockTable`.
    static func resource(bucket: String, key: String) -> String { bucket + "/" + key }

    /// Where the locks of multipart parts are named: no bucket name starts with a dot.
    static let uploadsNamespace = ".uploads"

    /// The lock of one part number of an upload (in `uploadsNamespace`).
    static func partResourceKey(uploadID: String, number: Int) -> String { "\(uploadID)/\(number)" }

    var quorum: Int { layer.set.metadataQuorum }

    /// Acquires the lock, retrying with back-off while others hold it; nil when held.
    func acquire(_ done: @escaping (ObjectError?) -> Void) {
        let deadline = layer.loop.iterationTime + ObjectLock.waitMax
        attempt(until: deadline, done)
    }

    /// The nodes asked: first a quorum of them alone (this node first, then the others in an order
    /// that depends on the object, so the grants spread), which is enough when nobody else holds the
    /// lock; after a refusal or a silent node, every reachable node.
    private func candidates() -> [NodeID] {
        let reachable = layer.stores.filter { layer.isReachable($0.id) }.map(\.id)
        guard attempts == 1, reachable.count > quorum else { return reachable }
        let local = reachable.filter { layer.store($0) is LocalStore }
        let others = reachable.filter { !(layer.store($0) is LocalStore) }
        guard !others.isEmpty else { return Array(local.prefix(quorum)) }
        let hash = RunningChecksum.compute(.crc32c, Array(resource.utf8)).reduce(0) { $0 << 8 | Int($1) }
        let start = hash % others.count
        return Array((local + others[start...] + others[..<start]).prefix(quorum))
    }

    private func attempt(until deadline: Instant, _ done: @escaping (ObjectError?) -> Void) {
        attempts += 1
        let nodes = candidates()
        let round = NodeRound<Bool>(
            nodes: nodes, enough: quorum, grace: ObjectLock.roundGrace, watch: layer.stragglers,
            counts: { (try? $0.get()) == true }
        ) { [self] answers in
            let yes = answers.filter { (try? $0.value.get()) == true }.map(\.key)
            if yes.count >= quorum {
                granted = yes
                do throws(UVError) {
                    try startRefreshing()
                } catch {
                    // Unrefreshed, the grants would lapse under the writer, and another writer could
                    // take the key mid-commit: fail now, holding nothing.
                    release()
                    return done(.internalError("cannot arm the refresh of the lock on \(resource): \(error)"))
                }
                return done(nil)
            }
            // Someone else holds it (or too few nodes answered): give back what we got, try again.
            send(.release, to: yes)
            guard layer.loop.iterationTime < deadline else {
                return done(.lockTimeout(resource: resource, waited: ObjectLock.waitMax))
            }
            do throws(UVError) {
                try Timer.once(layer.loop, ObjectLock.backOff(attempt: attempts)) { [self] in
                    attempt(until: deadline, done)
                }
            } catch {
                done(.internalError("cannot arm the retry of the lock on \(resource): \(error)"))
            }
        }
        for id in nodes {
            layer.store(id).lock(.acquire, resource: resource, owner: owner, ttl: ObjectLock.ttl) {
                round.answered(id, $0)
            }
        }
    }

    private func startRefreshing() throws(UVError) {
        let timer = try Timer(loop: layer.loop, label: "object lock refresh")
        refresher = timer
        timer.start(after: ObjectLock.refreshEvery, repeating: ObjectLock.refreshEvery) { [weak self] in
            guard let self else { return }
            self.send(.refresh, to: self.granted)
        }
    }

    /// How long a writer that found the lock held waits before its next attempt: random, and growing
    /// (5 ms to 200 ms), so two writers that split the nodes between them part ways.
    static func backOff(attempt: Int) -> Duration {
        let base = min(200, 5 << min(attempt, 5))
        return .milliseconds(Int64.random(in: Int64(base / 2)...Int64(base)))
    }

    /// What a commit carries to give this lock's grant back on its node once it is done.
    var handOff: LockRelease { LockRelease(resource: resource, owner: owner) }

    /// Gives the lock back (idempotent), except on the nodes where a commit carrying `handOff` is known
    /// to have succeeded (they gave their grant back themselves).
    func release(handedOffTo: [NodeID] = []) {
        guard !released else { return }
        released = true
        refresher?.close()
        refresher = nil
        send(.release, to: granted.filter { !handedOffTo.contains($0) })
        granted = []
    }

    private func send(_ op: LockOp, to nodes: [NodeID]) {
        for id in nodes {
            layer.store(id).lock(op, resource: resource, owner: owner, ttl: ObjectLock.ttl) { _ in }
        }
    }
}

extension ObjectLayer {
    /// Runs `body` holding the write lock of `bucket/key`; `body` releases it when done. Fails without
    /// running it when the lock cannot be had in time.
    func locked(
        bucket: String, key: String, failed: @escaping (ObjectError) -> Void,
        _ body: @escaping (ObjectLock) -> Void
    ) {
        let lock = ObjectLock(layer: self, bucket: bucket, key: key)
        lock.acquire { error in
            if let error { return failed(error) }
            body(lock)
        }
    }
}

/// A lock grant that a commit gives back on its node once the commit is done (see `ObjectLock.handOff`).
public struct LockRelease: Sendable, Equatable {
    public var resource: String
    public var owner: String
}
