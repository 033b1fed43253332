import ArgumentParser
import Core
import FoundationEssentials
import HTTP
import Launcher
import TLS

#if canImport(Glibc)
import Glibc
#endif

extension DevCluster {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure PUT, GET and DELETE throughput and latency against the cluster (or any S3 endpoint).",
            discussion: """
                devcluster bench --size 1MiB --count 500 --concurrency 8
                devcluster bench --size 4KiB --count 5000 --phases put,get
                devcluster bench --endpoint http://127.0.0.1:5000 --access-key a --secret-key b   # another S3 server
                Requests go round-robin over every node (any node serves any request). Progress shows on a
                terminal; the summary gives MB/s, ops/s, latency percentiles and the servers' CPU time per
                operation (all nodes summed, from /proc: steady on a busy machine); --verbose adds the
                internode requests and storage calls per operation (from the nodes' metrics, so a change
                that adds messages shows); --json for scripts.
                """)

        @OptionGroup var cluster: ClusterOptions

        @Option(name: .long, help: ArgumentHelp("Object size (4KiB, 1MiB, 64MiB ...).", valueName: "bytes"))
        var size: String = "1MiB"

        @Option(name: .long, help: "Objects per phase.")
        var count: Int = 500

        @Option(name: .long, help: "Requests in flight at once.")
        var concurrency: Int = 8

        @Option(name: .long, help: ArgumentHelp("Stop each phase after this long.", valueName: "duration"))
        var duration: String = "5m"

        @Option(name: .long, help: ArgumentHelp("Phases to run, in order.", valueName: "put,get,delete"))
        var phases: String = "put,get,delete"

        @Option(
            name: .long, help: ArgumentHelp("Another S3 server to measure instead of the cluster.", valueName: "url"))
        var endpoint: String?

        @Option(name: .long, help: "Access key (with --endpoint; default: the cluster's).")
        var accessKey: String?

        @Option(name: .long, help: "Secret key (with --endpoint; default: the cluster's).")
        var secretKey: String?

        @Option(name: .long, help: "Bucket to use (created if missing; default: a new one).")
        var bucket: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "With --endpoint: the server's process, to report its CPU time per operation.", valueName: "pid"))
        var serverPID: Int32?

        @Flag(name: .long, help: "Keep the objects and the bucket.")
        var keep = false

        @Flag(name: .long, help: "Machine-readable summary (schemaVersion 1).")
        var json = false

        @Flag(
            name: .long,
            help: "Also report the internode requests and storage calls each operation cost (read from the nodes).")
        var verbose = false

        func run() throws {
            guard let bytes = ByteSize.parse(size), bytes > 0 else {
                throw fail("--size '\(size)' is not a size like 4KiB, 1MiB, 64MiB", code: usageExitCode)
            }
            guard count > 0, (1...1024).contains(concurrency) else {
                throw fail("--count must be positive and --concurrency 1 to 1024", code: usageExitCode)
            }
            var chosen: [BenchRunner.Phase] = []
            for p in phases.split(separator: ",") {
                guard let phase = BenchRunner.Phase(rawValue: p.uppercased()) else {
                    throw fail("unknown phase '\(p)': use put, get, delete", code: usageExitCode)
                }
                chosen.append(phase)
            }
            var endpoints: [HTTPEndpoint]
            var serverPIDs: [Int32] = serverPID.map { [$0] } ?? []
            var counters: (() -> [String: Double]?)?
            var access = accessKey
            var secret = secretKey
            var tls: TLSContext?
            if let endpoint {
                guard let e = HTTPEndpoint(url: endpoint) else {
                    throw fail("--endpoint must be http://host:port or https://host:port")
                }
                endpoints = [e]
                if e.isSecure {
                    let bundle = ProcessInfo.processInfo.environment["AWS_CA_BUNDLE"].map { [$0] } ?? []
                    do {
                        tls = try TLSContext.client(trusting: bundle)
                    } catch {
                        throw fail("AWS_CA_BUNDLE: \(error.reason)")
                    }
                }
            } else {
                let launcher = try cluster.launcher()
                let record = try launching { () throws(LauncherError) in try launcher.home.load() }
                let running = record.nodes.filter { launcher.processState(record, $0.id) == .running }
                endpoints = running.compactMap { HTTPEndpoint(url: $0.endpoint) }
                serverPIDs = running.compactMap { $0.process?.pid }
                guard !endpoints.isEmpty else {
                    throw fail("no node of cluster '\(record.name)' is running: devcluster up")
                }
                access = access ?? record.accessKey
                secret = secret ?? record.secretKey
                tls = launcher.tls
                if verbose {
                    let targets = running.map { Probe.Target(id: $0.id, endpoint: $0.endpoint) }
                    let key = launcher.key(record)
                    counters = {
                        Probe.counters(
                            targets, key: key, prefix: "devcluster_internode_", timeout: .seconds(5), tls: tls)
                    }
                }
            }
            guard let access, let secret else { throw fail("--endpoint needs --access-key and --secret-key") }
            var options = BenchRunner.Options(
                endpoints: endpoints, accessKey: access, secretKey: secret,
                bucket: bucket ?? "bench-\(Crypto.randomBytes(4).hexString)", objectBytes: bytes, count: count,
                concurrency: concurrency,
                durationMax: try parseDuration(duration, option: "--duration"), phases: chosen)
            options.keep = keep
            options.serverPIDs = serverPIDs
            options.tls = tls
            let runner: BenchRunner
            do {
                runner = try BenchRunner(options: options)
            } catch {
                throw fail("cannot start: \(error)")
            }
            runner.counters = counters
            let s = style
            if s.enabled && !json {
                runner.progress = { phase, done, errors, total, moved, elapsed in
                    let width = 30
                    let filled = total > 0 ? width * done / total : 0
                    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
                    let rate = elapsed.seconds > 0 ? Double(moved) / 1e6 / elapsed.seconds : 0
                    var line = "\r\(phase.rawValue.padding(to: 7))\(bar) \(done)/\(total)  \(Int(rate)) MB/s"
                    if errors > 0 { line += s.paint("  \(errors) errors", .red) }
                    say(line, terminator: "")
                }
            }
            let results: [BenchRunner.PhaseResult]
            switch runner.run() {
            case .failure(let e): throw fail(e.description)
            case .success(let r): results = r
            }
            if s.enabled && !json { say("\r" + String(repeating: " ", count: 70) + "\r", terminator: "") }
            if json {
                say(benchJSON(results, options: options).text)
            } else {
                say(
                    "\(results.first.map { _ in "" } ?? "")bench: \(count) objects of \(ByteSize.format(Int64(bytes))), concurrency \(concurrency), \(endpoints.count) endpoint(s)\n"
                )
                let ms = { (d: Duration) in String(format2(d.seconds * 1000)) }
                say(
                    s.table(
                        [
                            "PHASE", "OPS", "ERRORS", "MB/s", "OPS/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                            "CPU us/op",
                        ],
                        results.map { r in
                            [
                                (r.phase.rawValue, .plain), (String(r.operations), .plain),
                                (String(r.errors), r.errors > 0 ? .red : .plain),
                                (format2(r.megabytesPerSecond), .plain), (format2(r.operationsPerSecond), .plain),
                                (ms(r.percentile(0.5)), .plain),
                                (ms(r.percentile(0.9)), .plain), (ms(r.percentile(0.99)), .plain),
                                (ms(r.latencies.last ?? .zero), .plain),
                                (r.serverCPUPerOperation.map { String(Int($0.seconds * 1e6)) } ?? "-", .plain),
                            ]
                        }), terminator: "")
                for r in results where r.errors > 0 {
                    say(s.paint("\(r.phase.rawValue): first error: \(r.firstError ?? "?")", .red))
                }
                if verbose {
                    for r in results { say(Bench.trafficLine(r)) }
                }
            }
            if results.contains(where: { $0.errors > 0 }) { throw ExitCode(1) }
        }

        static let requestsCounter = "devcluster_internode_requests_total"
        static let callCounter = "devcluster_internode_calls_total{call=\""

        /// "PUT: 4.02 internode requests per operation; calls: commit 3.00, lock 2.00".
        static func trafficLine(_ r: BenchRunner.PhaseResult) -> String {
            guard let counters = r.counters, let requests = r.perOperation(requestsCounter) else {
                return "\(r.phase.rawValue): internode traffic not read (a node did not answer)"
            }
            let calls = counters.keys.filter { $0.hasPrefix(callCounter) }.sorted().compactMap { name -> String? in
                guard let n = r.perOperation(name), n > 0 else { return nil }
                return "\(name.dropFirst(callCounter.count).dropLast(2)) \(format2(n))"
            }
            return "\(r.phase.rawValue): \(format2(requests)) internode requests per operation; calls: "
                + (calls.isEmpty ? "none" : calls.joined(separator: ", "))
        }

        func benchJSON(_ results: [BenchRunner.PhaseResult], options: BenchRunner.Options) -> JSONValue {
            .object([
                ("schemaVersion", .int(1)), ("objectBytes", .int(Int64(options.objectBytes))),
                ("count", .int(Int64(options.count))),
                ("concurrency", .int(Int64(options.concurrency))),
                ("endpoints", .array(options.endpoints.map { .string($0.url) })),
                (
                    "phases",
                    .array(
                        results.map { r in
                            .object([
                                ("phase", .string(r.phase.rawValue)), ("operations", .int(Int64(r.operations))),
                                ("errors", .int(Int64(r.errors))),
                                ("bytes", .int(r.bytes)), ("seconds", .double(r.elapsed.seconds)),
                                ("megabytesPerSecond", .double(r.megabytesPerSecond)),
                                ("operationsPerSecond", .double(r.operationsPerSecond)),
                                (
                                    "latencyMs",
                                    .object([
                                        ("p50", .double(r.percentile(0.5).seconds * 1000)),
                                        ("p90", .double(r.percentile(0.9).seconds * 1000)),
                                        ("p99", .double(r.percentile(0.99).seconds * 1000)),
                                        ("max", .double((r.latencies.last ?? .zero).seconds * 1000)),
                                    ])
                                ),
                                ("firstError", r.firstError.map { .string($0) } ?? .null),
                                (
                                    "serverCPUMicrosecondsPerOperation",
                                    r.serverCPUPerOperation.map { .double($0.seconds * 1e6) } ?? .null
                                ),
                                (
                                    "internodeRequestsPerOperation",
                                    r.perOperation(Bench.requestsCounter).map { .double($0) } ?? .null
                                ),
                            ])
                        })
                ),
            ])
        }
    }
}

func format2(_ v: Double) -> String {
    let hundredths = Int((v * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}
