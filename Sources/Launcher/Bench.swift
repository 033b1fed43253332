import Core
import HTTP
import Loop
import S3
import TLS

/// `devcluster bench`: PUT, GET and DELETE phases of fixed-size objects at a fixed concurrency, on our
/// own loop and HTTP client, signed with SigV4 and UNSIGNED-PAYLOAD so the client is not the
/// bottleneck. Works against any S3 endpoint (to compare with another server in the same run).
public final class BenchRunner {
    public struct Options: Sendable {
        public var endpoints: [HTTPEndpoint]
        public var accessKey: String
        public var secretKey: String
        public var region = "us-east-1"
        public var bucket: String
        public var objectBytes: Int
        public var count: Int
        public var concurrency: Int
        /// Each phase stops starting operations after this long.
        public var durationMax: Duration
        public var phases: [Phase]
        /// Keep the objects and bucket afterwards (otherwise the DELETE phase and the bucket go).
        public var keep = false
        /// The servers' processes, when they run here: their CPU time per phase is measured.
        public var serverPIDs: [Int32] = []
        /// What HTTPS endpoints are verified with.
        public var tls: TLSContext?

        public init(
            endpoints: [HTTPEndpoint], accessKey: String, secretKey: String, bucket: String, objectBytes: Int,
            count: Int, concurrency: Int,
            durationMax: Duration, phases: [Phase]
        ) {
            self.endpoints = endpoints
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.bucket = bucket
            self.objectBytes = objectBytes
            self.count = count
            self.concurrency = concurrency
            self.durationMax = durationMax
            self.phases = phases
        }
    }

    public enum Phase: String, CaseIterable, Sendable {
        case put = "PUT"
        case get = "GET"
        case delete = "DELETE"
    }

    public struct PhaseResult: Sendable {
        public var phase: Phase
        public var operations: Int
        public var errors: Int
        public var firstError: String?
        public var bytes: Int64
        public var elapsed: Duration
        /// Per-operation latencies, ascending.
        public var latencies: [Duration]
        /// CPU time the servers used during the phase (all of them summed), when measured.
        public var serverCPU: Duration?
        /// How much each of the servers' counters grew during the phase (summed), when read.
        public var counters: [String: Double]?

        /// A counter's growth per operation.
        public func perOperation(_ counter: String) -> Double? {
            guard let counters, operations > 0 else { return nil }
            return (counters[counter] ?? 0) / Double(operations)
        }

        /// Server CPU time per operation: stable on a busy machine, where throughput is not.
        public var serverCPUPerOperation: Duration? {
            guard let serverCPU, operations > 0 else { return nil }
            return serverCPU / operations
        }

        public var megabytesPerSecond: Double { Double(bytes) / 1e6 / max(elapsed.seconds, 1e-9) }
        public var operationsPerSecond: Double { Double(operations) / max(elapsed.seconds, 1e-9) }

        /// The latency `p` (0...1) of the operations were at or below (nearest rank).
        public func percentile(_ p: Double) -> Duration {
            guard !latencies.isEmpty else { return .zero }
            let rank = Int((Double(latencies.count) * p).rounded(.up))
            return latencies[min(latencies.count, max(1, rank)) - 1]
        }
    }

    /// Progress of the running phase: (phase, done, errors, total, bytes so far, elapsed).
    public var progress: ((Phase, Int, Int, Int, Int64, Duration) -> Void)?
    /// Reads the servers' counters (summed), at the start and the end of each phase; nil when unread.
    public var counters: (() -> [String: Double]?)?
    public static let progressInterval: Duration = .milliseconds(100)
    public static let requestTimeout: Duration = .seconds(60)

    let options: Options
    let loop: EventLoop
    let client: HTTPClient
    let payload: ByteBuffer

    public init(options: Options) throws(UVError) {
        self.options = options
        loop = try EventLoop()
        var limits = HTTPClientLimits()
        limits.connectionsPerEndpointMax = max(limits.connectionsPerEndpointMax, options.concurrency)
        limits.idleConnectionsPerEndpointMax = max(limits.idleConnectionsPerEndpointMax, options.concurrency)
        client = HTTPClient(loop: loop, limits: limits, tls: options.tls)
        // Pseudo-random bytes (not compressible, not all zeros), shared by every PUT: one buffer, no copies.
        payload = ByteBuffer(capacity: options.objectBytes)
        var g = SeededGenerator(seed: 42)
        g.fill(UnsafeMutableRawBufferPointer(start: payload.pointer, count: options.objectBytes))
        payload.setCount(options.objectBytes)
    }

    /// Runs every phase in order; the loop runs on the calling thread.
    public func run() -> Result<[PhaseResult], BenchError> {
        var outcome: Result<[PhaseResult], BenchError> = .success([])
        var results: [PhaseResult] = []
        var phases = options.phases
        func next() {
            guard !phases.isEmpty else { return finish() }
            runPhase(phases.removeFirst()) { result in
                results.append(result)
                next()
            }
        }
        func finish() {
            let cleanup = !options.keep
            if cleanup {
                request("DELETE", path: "/\(options.bucket)", endpoint: options.endpoints[0]) { _, _ in self.shutdown()
                }
            } else {
                shutdown()
            }
        }
        request("PUT", path: "/\(options.bucket)", endpoint: options.endpoints[0]) { status, body in
            guard status == 200 || status == 409 else {
                outcome = .failure(
                    BenchError(description: "cannot create bucket \(self.options.bucket): HTTP \(status) \(body)"))
                return self.shutdown()
            }
            next()
        }
        loop.run()
        loop.close()
        if case .failure = outcome { return outcome }
        return .success(results)
    }

    private func shutdown() {
        client.close()
    }

    private func path(_ i: Int) -> String { "/\(options.bucket)/bench/obj-\(i)" }

    /// The servers' CPU time so far, summed; nil when not measured or when one of them is gone.
    private func serverCPU() -> Duration? {
        guard !options.serverPIDs.isEmpty else { return nil }
        var total = Duration.zero
        for pid in options.serverPIDs {
            guard let t = ProcessControl.cpuTime(pid: pid) else { return nil }
            total += t
        }
        return total
    }

    private func runPhase(_ phase: Phase, _ done: @escaping (PhaseResult) -> Void) {
        let countersAtStart = counters?()
        let start = loop.now
        let cpuAtStart = serverCPU()
        var started = 0
        var finished = 0
        var errors = 0
        var firstError: String?
        var bytes: Int64 = 0
        var latencies: [Duration] = []
        latencies.reserveCapacity(options.count)
        var ticker: Loop.Timer?
        if let progress {
            ticker = try? Loop.Timer(loop: loop, label: "bench progress")
            ticker?.start(after: BenchRunner.progressInterval, repeating: BenchRunner.progressInterval) { [self] in
                progress(phase, finished, errors, options.count, bytes, loop.now.since(start))
            }
        }
        func launch() {
            while started < options.count && started - finished < options.concurrency
                && loop.now.since(start) < options.durationMax
            {
                let i = started
                started += 1
                let opStart = loop.now
                operate(phase, i) { [self] ok, moved, error in
                    finished += 1
                    latencies.append(loop.now.since(opStart))
                    if ok {
                        bytes += moved
                    } else {
                        errors += 1
                        if firstError == nil { firstError = error }
                    }
                    if finished == started && (started == options.count || loop.now.since(start) >= options.durationMax)
                    {
                        ticker?.close()
                        progress?(phase, finished, errors, options.count, bytes, loop.now.since(start))
                        let cpuAtEnd = serverCPU()
                        let elapsed = loop.now.since(start)
                        let grown = counters?().flatMap { end in
                            countersAtStart.map { start in end.merging(start) { $0 - $1 } }
                        }
                        done(
                            PhaseResult(
                                phase: phase, operations: finished, errors: errors, firstError: firstError,
                                bytes: bytes, elapsed: elapsed,
                                latencies: latencies.sorted(),
                                serverCPU: cpuAtEnd.flatMap { end in cpuAtStart.map { end - $0 } },
                                counters: grown))
                    } else {
                        launch()
                    }
                }
            }
        }
        launch()
    }

    private func operate(_ phase: Phase, _ i: Int, _ done: @escaping (Bool, Int64, String?) -> Void) {
        let endpoint = options.endpoints[i % options.endpoints.count]
        switch phase {
        case .put:
            var headers = HTTPHeaders()
            SigV4.sign(
                method: "PUT", target: path(i), headers: &headers, host: endpoint.hostHeader,
                accessKey: options.accessKey, secretKey: options.secretKey, region: options.region)
            var status = 0
            let task = client.execute(
                HTTPClientRequest(
                    method: "PUT", target: path(i), headers: headers, streamedBodyLength: Int64(options.objectBytes)),
                to: endpoint,
                timeout: BenchRunner.requestTimeout,
                handlers: HTTPResponseHandlers(
                    head: { status = $0.status }, body: { _ in },
                    end: { [self] error in
                        done(
                            error == nil && status == 200, Int64(options.objectBytes),
                            error?.description ?? (status == 200 ? nil : "HTTP \(status)"))
                    }))
            task?.writeBody(payload)
            task?.endBody()
        case .get:
            var headers = HTTPHeaders()
            SigV4.sign(
                method: "GET", target: path(i), headers: &headers, host: endpoint.hostHeader,
                accessKey: options.accessKey, secretKey: options.secretKey, region: options.region)
            var status = 0
            var received: Int64 = 0
            client.execute(
                HTTPClientRequest(method: "GET", target: path(i), headers: headers), to: endpoint,
                timeout: BenchRunner.requestTimeout,
                handlers: HTTPResponseHandlers(
                    head: { status = $0.status }, body: { received += Int64($0.count) },
                    end: { [self] error in
                        let ok = error == nil && status == 200 && received == Int64(options.objectBytes)
                        done(ok, received, ok ? nil : error?.description ?? "HTTP \(status), \(received) bytes")
                    }))
        case .delete:
            request("DELETE", path: path(i), endpoint: endpoint) { status, body in
                done(status == 204, 0, status == 204 ? nil : "HTTP \(status) \(body.prefix(120))")
            }
        }
    }

    private func request(
        _ method: String, path: String, endpoint: HTTPEndpoint, _ done: @escaping (Int, String) -> Void
    ) {
        var headers = HTTPHeaders()
        SigV4.sign(
            method: method, target: path, headers: &headers, host: endpoint.hostHeader, accessKey: options.accessKey,
            secretKey: options.secretKey, region: options.region)
        client.send(
            HTTPClientRequest(method: method, target: path, headers: headers), to: endpoint,
            timeout: BenchRunner.requestTimeout
        ) { result in
            switch result {
            case .success(let r): done(r.status, r.bodyText)
            case .failure(let e): done(0, e.description)
            }
        }
    }
}

public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Byte sizes as people write them: `4KiB`, `1MiB`, `64MiB`, `1GiB`, `1000`, `10MB`.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000), ("B", 1),
        ]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let n = Double(text.dropLast(suffix.count)), n >= 0, n * Double(scale) < 1e12 else { return nil }
            return Int(n * Double(scale))
        }
        return Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    public static func format(_ bytes: Int64) -> String {
        switch bytes {
        case ..<1024: "\(bytes) B"
        case ..<(1 << 20): "\(bytes / 1024) KiB"
        case ..<(1 << 30): String(format1(Double(bytes) / Double(1 << 20))) + " MiB"
        default: String(format1(Double(bytes) / Double(1 << 30))) + " GiB"
        }
    }

    static func format1(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
    }
}
