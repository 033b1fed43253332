import Core
import HTTP
import Loop
import S3

/// POSTs object events to the configured webhooks, in order per webhook, one at a time, retried with
/// back-off. Each webhook has a bounded queue: when it is full the oldest event is dropped (and
/// counted), so a webhook that is down costs memory up to the cap and never delays an S3 request.
/// Loop-bound.
public final class Notifier {
    public struct Target: Sendable {
        public var id: String
        public var url: String

        public init(id: String, url: String) {
            self.id = id
            self.url = url
        }
    }

    public static let queueCountMax = 10_000
    public static let attemptsMax = 8
    public static let timeout: Duration = .seconds(5)

    final class Webhook {
        let target: Target
        let endpoint: HTTPEndpoint
        let path: String
        var queue: [[UInt8]] = []
        /// The event being POSTed now (out of the queue, so a full queue never drops it mid-send).
        var sending: [UInt8]?
        var attempts = 0
        var retryAt: Instant?
        var delivered: Int64 = 0
        var dropped: Int64 = 0

        init?(_ target: Target) {
            guard let endpoint = HTTPEndpoint(url: target.url) else { return nil }
            self.target = target
            self.endpoint = endpoint
            let rest = target.url.dropFirst("http://".count)
            path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
    }

    let loop: EventLoop
    let client: HTTPClient
    let region: String
    let principal: String
    let origin: String
    let log: Logger
    private let webhooks: [Webhook]
    /// Wakes webhooks whose retry is due (unref'd: it never keeps a stopping node alive).
    private var retryTimer: Timer?
    private var isClosed = false
    static let retryTick: Duration = .milliseconds(250)

    public init(
        loop: EventLoop, client: HTTPClient, targets: [Target], region: String, principal: String, origin: String,
        log: Logger
    ) {
        self.loop = loop
        self.client = client
        self.region = region
        self.principal = principal
        self.origin = origin
        self.log = log
        var hooks: [Webhook] = []
        for t in targets {
            if let hook = Webhook(t) {
                hooks.append(hook)
            } else {
                log.warn("webhook \(t.id): '\(t.url)' is not an http:// URL: ignored")
            }
        }
        webhooks = hooks
    }

    public var isEnabled: Bool { !webhooks.isEmpty }

    /// Queues the event for its webhooks (every one, unless the bucket's configuration names some).
    public func notify(_ event: ObjectEvent) {
        guard !webhooks.isEmpty, !isClosed else { return }
        var text = ""
        event.document(region: region, principal: principal, origin: origin).write(to: &text)
        let body = Array(text.utf8)
        for hook in webhooks where event.targets?.contains(hook.target.id) ?? true {
            if hook.queue.count >= Notifier.queueCountMax {
                hook.queue.removeFirst()
                hook.dropped += 1
            }
            hook.queue.append(body)
            pump(hook)
        }
    }

    /// Events delivered and dropped, per webhook id.
    public var stats: [(id: String, delivered: Int64, dropped: Int64, queued: Int)] {
        webhooks.map { ($0.target.id, $0.delivered, $0.dropped, $0.queue.count + ($0.sending == nil ? 0 : 1)) }
    }

    /// Stops retrying (the node is stopping).
    public func close() {
        isClosed = true
        retryTimer?.close()
        retryTimer = nil
    }

    private func pump(_ hook: Webhook) {
        guard !isClosed, hook.sending == nil, hook.retryAt == nil, !hook.queue.isEmpty else { return }
        let body = hook.queue.removeFirst()
        hook.sending = body
        let request = HTTPClientRequest(
            method: "POST", target: hook.path, headers: ["Content-Type": "application/json"], body: body,
            isIdempotent: false)
        client.send(request, to: hook.endpoint, timeout: Notifier.timeout) { [self] result in
            hook.sending = nil
            if case .success(let r) = result, (200..<300).contains(r.status) {
                hook.attempts = 0
                hook.delivered += 1
                return pump(hook)
            }
            hook.attempts += 1
            if hook.attempts >= Notifier.attemptsMax {
                log.warn(
                    "webhook \(hook.target.id) did not take an event after \(hook.attempts) attempts: dropped it",
                    [("endpoint", .string(hook.target.url))])
                hook.dropped += 1
                hook.attempts = 0
                return pump(hook)
            }
            // Sent again first, when its retry is due.
            hook.queue.insert(body, at: 0)
            // 0.5, 1, 2, 4 ... 30 s.
            hook.retryAt = loop.iterationTime + .milliseconds(min(30_000, 500 << Int64(hook.attempts - 1)))
            armRetries()
        }
    }

    private func armRetries() {
        guard !isClosed, retryTimer == nil, let timer = try? Timer(loop: loop, label: "webhook retries") else { return }
        timer.unref()
        retryTimer = timer
        timer.start(after: Notifier.retryTick, repeating: Notifier.retryTick) { [unowned self] in
            let now = loop.iterationTime
            for hook in webhooks where hook.retryAt.map({ $0 <= now }) == true {
                hook.retryAt = nil
                pump(hook)
            }
        }
    }
}
