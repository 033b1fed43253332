import Core
import HTTP
import Loop
import S3
import Synchronization
import TLS

/// The chaos checker's S3 clients: concurrent PUT, GET, DELETE and overwrites of a few keys through
/// random nodes, every one recorded in a `ChaosHistory`. Loop-bound: made and run on one thread.
final class ChaosClients {
    struct Options: Sendable {
        var nodes: [(id: String, endpoint: HTTPEndpoint)]
        var accessKey: String
        var secretKey: String
        var region: String
        var bucket: String
        var keys: [ChaosKey]
        var clients: Int
        var seed: UInt64
        /// What HTTPS nodes are verified with.
        var tls: TLSContext?
    }

    /// Counters the nemesis thread prints progress from.
    final class Progress: Sendable {
        let operations = Atomic<Int>(0)
        let acknowledged = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
    }

    /// A request a paused or cut-off node never answers ends here (and counts as failed).
    static let requestTimeout: Duration = .seconds(8)
    /// After a failure a client waits this long, so a dead node is not hammered in a tight loop.
    static let backoffAfterFailure: Duration = .milliseconds(100)
    /// The largest body a GET takes (the biggest chaos body is 600 KiB).
    static let responseBytesMax = 4 << 20
    /// The mix of operations, in percent: PUT (new or overwrite), GET, the rest DELETE.
    static let putPercent = 45
    static let getPercent = 45

    let options: Options
    let loop: EventLoop
    let client: HTTPClient
    let progress: Progress
    let start: Instant
    private(set) var history = ChaosHistory()
    private var rng: SeededGenerator
    private var writes = 0
    private var running = 0

    init(options: Options, progress: Progress, start: Instant) throws(UVError) {
        self.options = options
        self.progress = progress
        self.start = start
        loop = try EventLoop()
        var limits = HTTPClientLimits()
        limits.responseBodyBytesMax = Self.responseBytesMax
        client = HTTPClient(loop: loop, limits: limits, tls: options.tls)
        rng = SeededGenerator(seed: options.seed)
    }

    private var now: Int64 { loop.now.since(start).nanoseconds }

    /// Runs the clients until `progress.stop` is set and every operation in flight has ended (each
    /// client always has an operation or a back-off under way, so the loop runs until the last stops).
    func run() {
        running = options.clients
        for c in 0..<options.clients { next(client: c) }
        loop.run()
        loop.close()
    }

    private func next(client c: Int) {
        guard !progress.stop.load(ordering: .relaxed) else {
            running -= 1
            if running == 0 { client.close() }
            return
        }
        let key = options.keys[Int.random(in: 0..<options.keys.count, using: &rng)]
        let node = options.nodes[Int.random(in: 0..<options.nodes.count, using: &rng)]
        let roll = Int.random(in: 0..<100, using: &rng)
        let done: (Bool) -> Void = { [self] ok in
            progress.operations.add(1, ordering: .relaxed)
            if !ok { progress.failed.add(1, ordering: .relaxed) }
            guard !ok else { return next(client: c) }
            do throws(UVError) {
                try Loop.Timer.once(loop, Self.backoffAfterFailure, label: "chaos backoff") { [self] in next(client: c)
                }
            } catch {
                next(client: c)  // no back-off rather than a client that stops
            }
        }
        switch roll {
        case ..<Self.putPercent: put(key, via: node, client: c, done)
        case ..<(Self.putPercent + Self.getPercent):
            get(key, via: node) { [self] read in
                history.record(read)
                done(!read.isFailure)
            }
        default: delete(key, via: node, client: c, done)
        }
    }

    private func put(
        _ key: ChaosKey, via node: (id: String, endpoint: HTTPEndpoint), client c: Int, _ done: @escaping (Bool) -> Void
    ) {
        writes += 1
        let id = "c\(c)-\(writes)"
        let size = key.sizes.lowerBound + Int(rng.next() % UInt64(key.sizes.count))
        let body = ChaosBody.make(key: key.name, write: id, bytes: size, seed: rng.next())
        let handle = history.begin(write: id, key: key.name, isDelete: false, at: now)
        send("PUT", key, via: node, body: body) { [self] status, _ in
            if status == 200 { acknowledge(handle) }
            done(status == 200)
        }
    }

    private func delete(
        _ key: ChaosKey, via node: (id: String, endpoint: HTTPEndpoint), client c: Int, _ done: @escaping (Bool) -> Void
    ) {
        writes += 1
        let handle = history.begin(write: "c\(c)-\(writes)-delete", key: key.name, isDelete: true, at: now)
        send("DELETE", key, via: node) { [self] status, _ in
            if status == 204 { acknowledge(handle) }
            done(status == 204)
        }
    }

    private func acknowledge(_ handle: Int) {
        history.acknowledge(handle, at: now)
        progress.acknowledged.add(1, ordering: .relaxed)
    }

    /// Reads `key` through `node` and says what came back.
    func get(
        _ key: ChaosKey, via node: (id: String, endpoint: HTTPEndpoint), isFinal: Bool = false,
        _ done: @escaping (ChaosHistory.Read) -> Void
    ) {
        let began = now
        send("GET", key, via: node) { [self] status, body in
            let result: ChaosHistory.ReadResult
            switch status {
            case 200:
                switch ChaosBody.read(body, key: key.name) {
                case .intact(let write): result = .value(write: write)
                case .damaged(let why): result = .damaged(why)
                }
            case 404 where String(decoding: body, as: UTF8.self).contains("<Code>NoSuchKey</Code>"):
                result = .absent
            case 0: result = .failed(String(decoding: body, as: UTF8.self))
            default: result = .failed("HTTP \(status)")
            }
            done(
                ChaosHistory.Read(
                    key: key.name, began: began, ended: now, result: result, isFinal: isFinal, node: node.id))
        }
    }

    /// Clients on a new loop of this thread, for one-off work.
    private static func make(_ options: Options, start: Instant) throws(LauncherError) -> ChaosClients {
        do {
            return try ChaosClients(options: options, progress: Progress(), start: start)
        } catch {
            throw .io(path: "event loop", reason: error.description)
        }
    }

    /// Creates the run's bucket (on this thread).
    static func makeBucket(_ options: Options) throws(LauncherError) {
        let c = try make(options, start: .now())
        var answer = (0, [UInt8]())
        c.send("PUT", path: "/\(options.bucket)", via: options.nodes[0]) {
            answer = ($0, $1)
            c.client.close()
        }
        c.loop.run()
        c.loop.close()
        guard answer.0 == 200 else {
            throw .usage("cannot create bucket \(options.bucket): \(String(decoding: answer.1, as: UTF8.self))")
        }
    }

    /// Reads every key through every node, one after another (on this thread), once all is healed.
    static func finalReads(_ options: Options, start: Instant) throws(LauncherError) -> [ChaosHistory.Read] {
        try make(options, start: start).finalReads()
    }

    private func finalReads() -> [ChaosHistory.Read] {
        var reads: [ChaosHistory.Read] = []
        var queue = options.keys.flatMap { key in options.nodes.map { (key, $0) } }[...]
        func next() {
            guard let (key, node) = queue.popFirst() else { return client.close() }
            get(key, via: node, isFinal: true) {
                reads.append($0)
                next()
            }
        }
        next()
        loop.run()
        loop.close()
        return reads
    }

    /// One signed request; `status` 0 means no answer (the body then says why).
    private func send(
        _ method: String, _ key: ChaosKey, via node: (id: String, endpoint: HTTPEndpoint), body: [UInt8] = [],
        _ done: @escaping (Int, [UInt8]) -> Void
    ) {
        send(method, path: "/\(options.bucket)/\(key.name)", via: node, body: body, done)
    }

    private func send(
        _ method: String, path target: String, via node: (id: String, endpoint: HTTPEndpoint), body: [UInt8] = [],
        _ done: @escaping (Int, [UInt8]) -> Void
    ) {
        var headers = HTTPHeaders()
        SigV4.sign(
            method: method, target: target, headers: &headers, host: node.endpoint.hostHeader,
            accessKey: options.accessKey, secretKey: options.secretKey, region: options.region)
        client.send(
            HTTPClientRequest(method: method, target: target, headers: headers, body: body), to: node.endpoint,
            timeout: Self.requestTimeout
        ) { result in
            switch result {
            case .success(let r): done(r.status, r.body)
            case .failure(let e): done(0, Array(e.description.utf8))
            }
        }
    }
}

/// A key the chaos clients write, and the body sizes it gets: small ones live inline in the metadata,
/// large ones in shard files (with 2 data shards, 300 KiB makes shards past the 128 KiB inline limit).
public struct ChaosKey: Sendable, Equatable {
    public var name: String
    public var sizes: Range<Int>
    /// Stored in shard files: the ones bitrot is injected into.
    public var isLarge: Bool

    public static func keys(small: Int, large: Int) -> [ChaosKey] {
        (0..<small).map { ChaosKey(name: "small-\($0)", sizes: 128..<(16 << 10), isLarge: false) }
            + (0..<large).map { ChaosKey(name: "large-\($0)", sizes: (300 << 10)..<(600 << 10), isLarge: true) }
    }
}

extension ChaosHistory.Read {
    var isFailure: Bool {
        if case .failed = result { return true }
        return false
    }
}
