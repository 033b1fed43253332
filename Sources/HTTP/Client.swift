import Core
import Loop
import TLS

#if canImport(Glibc)
import Glibc
#endif

/// What fault injection does to one request: devcluster's partitions and slow links act here, below
/// every caller's retries and timeouts, so those run for real.
public enum HTTPFault: Equatable, Sendable {
    case none
    /// Never sent, never answered: the request fails at its own deadline, as one into a black hole.
    case drop
    /// Refused at once, as by a closed port.
    case reject
    /// Sent after this long.
    case delay(Duration)
}

/// An HTTP/1.1 client with a connection pool per endpoint, connect and request deadlines, and a cap on
/// waiting requests. Loop-bound.
public final class HTTPClient {
    public let limits: HTTPClientLimits
    public let loop: EventLoop
    private var pools: [HTTPEndpoint: Pool] = [:]
    private var tickTimer: Timer?
    private var isClosed = false
    /// Consulted for every request before it is queued (nil: no fault injection).
    public var faults: ((HTTPEndpoint) -> HTTPFault)?
    /// Requests a fault holds back, checked every tick: a dropped one (no release) fails at its
    /// deadline; a delayed one is sent at its release, unless its deadline comes first.
    private var held: [(task: HTTPClientTask, releaseAt: Instant?)] = []
    /// Wakes at the earliest release of a delayed request (the tick alone would round delays up to it).
    private var releaseTimer: Timer?

    final class Pool {
        var idle: [ClientConnection] = []
        var busy: [ObjectIdentifier: ClientConnection] = [:]
        var connecting: [PendingConnect] = []
        var pending: [HTTPClientTask] = []
        var total: Int { idle.count + busy.count + connecting.count }
    }

    final class PendingConnect {
        let deadline: Instant
        var stream: (any ByteStream)?
        var timedOut = false
        init(deadline: Instant) { self.deadline = deadline }
    }

    /// Limits are the program's own settings, so inconsistent ones are a bug: checked here, at start.
    /// What HTTPS endpoints are verified with; an HTTPS request fails when there is none.
    public let tls: TLSContext?

    public init(loop: EventLoop, limits: HTTPClientLimits = .init(), tls: TLSContext? = nil) {
        do {
            try limits.validate()
        } catch {
            preconditionFailure("HTTPClientLimits: \(error)")
        }
        self.loop = loop
        self.limits = limits
        self.tls = tls
    }

    /// Sends `request` and collects the whole response (up to `responseBodyBytesMax`).
    @discardableResult
    public func send(
        _ request: HTTPClientRequest, to endpoint: HTTPEndpoint, timeout: Duration,
        completion: @escaping (Result<HTTPClientResponse, HTTPClientError>) -> Void
    ) -> HTTPClientTask? {
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        var tooLarge = false
        let bodyMax = limits.responseBodyBytesMax
        var task: HTTPClientTask?
        task = execute(
            request, to: endpoint, timeout: timeout,
            handlers: HTTPResponseHandlers(
                head: { head = $0 },
                body: { bytes in
                    guard !tooLarge else { return }
                    if body.count + bytes.count > bodyMax {
                        tooLarge = true
                        task?.cancel()
                        return
                    }
                    body.append(contentsOf: bytes)
                },
                end: { error in
                    if tooLarge {
                        completion(.failure(.responseTooLarge(limit: bodyMax)))
                    } else if let error {
                        completion(.failure(error))
                    } else if let head {
                        completion(.success(HTTPClientResponse(status: head.status, headers: head.headers, body: body)))
                    } else {
                        completion(.failure(.malformedResponse("no response head")))
                    }
                }))
        return task
    }

    /// Sends `request`, streaming the response to `handlers`. `end` runs exactly once.
    @discardableResult
    public func execute(
        _ request: HTTPClientRequest, to endpoint: HTTPEndpoint, timeout: Duration, handlers: HTTPResponseHandlers
    ) -> HTTPClientTask? {
        guard !isClosed else {
            handlers.end(.cancelled)
            return nil
        }
        let task = HTTPClientTask(
            request: request, endpoint: endpoint, timeout: timeout, now: loop.iterationTime, handlers: handlers,
            client: self)
        switch faults?(endpoint) ?? .none {
        case .none:
            return enqueue(task)
        case .reject:
            task.finish(.connectFailed(UVError(code: -ECONNREFUSED, operation: "connect (fault injected)")))
            return nil
        case .drop:
            held.append((task, nil))
            ensureTicking()
            return task
        case .delay(let delay):
            held.append((task, loop.iterationTime + delay))
            ensureTicking()
            armRelease()
            return task
        }
    }

    private func armRelease() {
        guard let next = held.compactMap(\.releaseAt).min() else { return }
        if releaseTimer == nil {
            releaseTimer = try? Timer(loop: loop, label: "injected delays")
            releaseTimer?.unref()
        }
        releaseTimer?.start(after: max(.zero, next.since(loop.iterationTime))) { [unowned self] in
            releaseHeld(now: loop.iterationTime)
        }
    }

    /// Fails held requests whose deadline passed and sends delayed ones that are due.
    private func releaseHeld(now: Instant) {
        let holding = held
        held = []
        for (task, releaseAt) in holding where !task.isFinished {
            if task.isOverdue(now: now) {
                task.finish(.timedOut(task.timeout))
            } else if let releaseAt, now >= releaseAt {
                enqueue(task)
            } else {
                held.append((task, releaseAt))
            }
        }
        armRelease()
    }

    @discardableResult
    private func enqueue(_ task: HTTPClientTask) -> HTTPClientTask? {
        let endpoint = task.endpoint
        let pool = pool(for: endpoint)
        guard pool.pending.count < limits.pendingPerEndpointMax else {
            task.finish(.tooManyPending)
            return nil
        }
        pool.pending.append(task)
        ensureTicking()
        schedule(endpoint)
        return task
    }

    private func pool(for endpoint: HTTPEndpoint) -> Pool {
        if let pool = pools[endpoint] { return pool }
        let pool = Pool()
        pools[endpoint] = pool
        return pool
    }

    /// Hands waiting requests to idle connections, and dials more connections when allowed.
    private func schedule(_ endpoint: HTTPEndpoint) {
        guard let pool = pools[endpoint] else { return }
        while !pool.pending.isEmpty, let connection = pool.idle.popLast() {
            let task = pool.pending.removeFirst()
            pool.busy[ObjectIdentifier(connection)] = connection
            connection.send(task)
        }
        let wanted = pool.pending.count - pool.connecting.count
        let room = limits.connectionsPerEndpointMax - pool.total
        for _ in 0..<max(0, min(wanted, room)) { dial(endpoint, pool) }
    }

    private func dial(_ endpoint: HTTPEndpoint, _ pool: Pool) {
        let attempt = PendingConnect(deadline: loop.iterationTime + limits.connectTimeout)
        pool.connecting.append(attempt)
        Resolver.resolve(loop: loop, host: endpoint.host, port: endpoint.port) { [weak self] result in
            guard let self, !self.isClosed, !attempt.timedOut else { return }
            switch result {
            case .failure(let error):
                self.dialFinished(
                    endpoint, attempt, .failure(.resolveFailed(host: endpoint.host, reason: error.message)))
            case .success(let address):
                attempt.stream = TCPConnection.connect(loop: self.loop, to: address) { [weak self] result in
                    guard let self else {
                        if case .success(let tcp) = result { tcp.close() }
                        return
                    }
                    switch result {
                    case .success(let tcp):
                        if self.isClosed || attempt.timedOut {
                            tcp.close()
                            return
                        }
                        self.secure(tcp, endpoint, attempt)
                    case .failure(let error):
                        guard !attempt.timedOut else { return }
                        self.dialFinished(endpoint, attempt, .failure(.connectFailed(error)))
                    }
                }
            }
        }
    }

    /// Hands a dialled connection on, after a TLS handshake for an HTTPS endpoint.
    private func secure(_ tcp: TCPConnection, _ endpoint: HTTPEndpoint, _ attempt: PendingConnect) {
        guard endpoint.isSecure else {
            dialFinished(endpoint, attempt, .success(tcp))
            return
        }
        guard let tls else {
            tcp.close()
            dialFinished(
                endpoint, attempt,
                .failure(.tlsFailed("\(endpoint.url) is HTTPS and this client has no TLS configuration")))
            return
        }
        attempt.stream = TLSStream.connect(tcp, loop: loop, context: tls, host: endpoint.host) {
            [weak self] result in
            guard let self, !self.isClosed, !attempt.timedOut else {
                if case .success(let stream) = result { stream.close() }
                return
            }
            switch result {
            case .success(let stream): self.dialFinished(endpoint, attempt, .success(stream))
            case .failure(let error): self.dialFinished(endpoint, attempt, .failure(.tlsFailed(error.reason)))
            }
        }
    }

    private func dialFinished(
        _ endpoint: HTTPEndpoint, _ attempt: PendingConnect, _ result: Result<any ByteStream, HTTPClientError>
    ) {
        guard let pool = pools[endpoint] else { return }
        pool.connecting.removeAll { $0 === attempt }
        switch result {
        case .success(let stream):
            let connection = ClientConnection(client: self, endpoint: endpoint, stream: stream, now: loop.iterationTime)
            pool.idle.append(connection)
            schedule(endpoint)
        case .failure(let error):
            // The endpoint is unreachable: every request waiting for it fails now rather than at its deadline.
            let waiting = pool.pending
            pool.pending = []
            for task in waiting { task.finish(error) }
        }
    }

    func connectionBecameIdle(_ connection: ClientConnection) {
        guard let pool = pools[connection.endpoint] else { return }
        pool.busy[ObjectIdentifier(connection)] = nil
        if !pool.pending.isEmpty || pool.idle.count < limits.idleConnectionsPerEndpointMax {
            pool.idle.append(connection)
            schedule(connection.endpoint)
        } else {
            connection.close()
        }
    }

    func connectionClosed(_ connection: ClientConnection) {
        guard let pool = pools[connection.endpoint] else { return }
        pool.busy[ObjectIdentifier(connection)] = nil
        pool.idle.removeAll { $0 === connection }
        // A slot is free: a request waiting for one may dial now.
        if !isClosed { schedule(connection.endpoint) }
    }

    func connectionFailed(_ task: HTTPClientTask, _ error: HTTPClientError) {
        let staleReuse =
            error == .connectionClosed && !task.receivedResponseBytes && task.request.isIdempotent && !task.retried
        if staleReuse, let pool = pools[task.endpoint], !task.isOverdue(now: loop.iterationTime) {
            task.retried = true
            task.connection = nil
            pool.pending.insert(task, at: 0)
            schedule(task.endpoint)
            return
        }
        task.finish(error)
    }

    /// Ends `task` with `error` wherever it is (waiting or on a connection).
    func fail(_ task: HTTPClientTask, _ error: HTTPClientError) {
        guard !task.isFinished else { return }
        if let connection = task.connection {
            connection.fail(error)  // reports back through connectionFailed; never retried (not a stale close)
            task.finish(error)
        } else {
            pools[task.endpoint]?.pending.removeAll { $0 === task }
            task.finish(error)
        }
    }

    // MARK: Deadlines

    private func ensureTicking() {
        guard tickTimer == nil, let timer = try? Timer(loop: loop, label: "http client tick") else { return }
        timer.unref()
        timer.start(after: limits.tickInterval, repeating: limits.tickInterval) { [unowned self] in self.tick() }
        tickTimer = timer
    }

    private func tick() {
        let now = loop.iterationTime
        releaseHeld(now: now)
        var anything = !held.isEmpty
        for (endpoint, pool) in pools {
            for attempt in pool.connecting where now >= attempt.deadline {
                attempt.timedOut = true
                attempt.stream?.close()
                dialFinished(endpoint, attempt, .failure(.connectTimedOut(limits.connectTimeout)))
            }
            for task in pool.pending where task.isOverdue(now: now) {
                fail(task, .timedOut(task.timeout))
            }
            for connection in pool.idle where now.since(connection.idleSince) >= limits.idleTimeout {
                connection.close()
            }
            for task in pool.busy.values.compactMap(\.task) where task.isOverdue(now: now) {
                fail(task, .timedOut(task.timeout))
            }
            anything = anything || pool.total > 0 || !pool.pending.isEmpty
        }
        if !anything {
            tickTimer?.close()
            tickTimer = nil
        }
    }

    /// Closes every connection and fails every request with `.cancelled`.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        for (_, pool) in pools {
            let waiting = pool.pending
            pool.pending = []
            for task in waiting { task.finish(.cancelled) }
            for attempt in pool.connecting {
                attempt.timedOut = true
                attempt.stream?.close()
            }
            pool.connecting = []
            for connection in pool.idle { connection.close() }
            for connection in Array(pool.busy.values) { connection.fail(.cancelled) }
        }
        pools = [:]
        let holding = held
        held = []
        for (task, _) in holding { task.finish(.cancelled) }
        releaseTimer?.close()
        releaseTimer = nil
        tickTimer?.close()
        tickTimer = nil
    }
}
