import Core
import HTTP
import Loop

/// The events as Server-Sent Events (`GET /_dc/events`): each subscriber first gets the recent events
/// after the one it names (`Last-Event-ID`, or `?after=N`), then every new one as it happens, and a
/// comment every `keepAliveInterval` so proxies and browsers keep the stream open. A subscriber that
/// stops reading is dropped once `pendingWritesMax` events wait for it: a stuck browser costs
/// bounded memory and never slows the node. Loop-bound.
public final class EventStream {
    public static let subscribersMax = 64
    public static let pendingWritesMax = 256
    public static let keepAliveInterval: Duration = .seconds(15)
    /// Recent events a new subscriber gets at most.
    public static let backlogMax = 500

    final class Subscriber {
        let response: HTTPServerResponse
        var pending = 0

        init(_ response: HTTPServerResponse) {
            self.response = response
        }
    }

    let loop: EventLoop
    let log: EventLog
    private var subscribers: [ObjectIdentifier: Subscriber] = [:]
    private var keepAlive: Timer?
    private var isClosed = false

    public init(loop: EventLoop, log: EventLog) {
        self.loop = loop
        self.log = log
    }

    public var subscriberCount: Int { subscribers.count }

    /// Answers an SSE request: 503 when full, else the backlog after `after` and then live events.
    public func subscribe(_ response: HTTPServerResponse, after: UInt64?) {
        guard !isClosed else {
            return response.send(status: 503, body: Array("the node is stopping\n".utf8))
        }
        guard subscribers.count < EventStream.subscribersMax else {
            return response.send(
                status: 503, headers: ["Retry-After": "5"],
                body: Array("too many event streams open on this node (\(EventStream.subscribersMax))\n".utf8))
        }
        let subscriber = Subscriber(response)
        let id = ObjectIdentifier(subscriber)
        subscribers[id] = subscriber
        response.onAbort { [weak self] in self?.subscribers[id] = nil }
        response.writeHead(
            status: 200,
            headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"],
            contentLength: nil)
        // Tells the browser how long to wait before reconnecting, and opens the stream at once.
        var text = "retry: 2000\n\n"
        let last = log.lastSequence
        // A number from before this node restarted (its log starts again at 1): the whole backlog.
        let after = after.flatMap { $0 > last ? nil : $0 }
        // The newest `backlogMax` at most: a subscriber far behind resumes near now, not in the past.
        let start = max(after ?? 0, last > UInt64(EventStream.backlogMax) ? last - UInt64(EventStream.backlogMax) : 0)
        for event in log.events(after: min(start, last), limit: EventStream.backlogMax) {
            text += EventStream.frame(event)
        }
        send(text, to: subscriber)
        armKeepAlive()
    }

    /// Sends a new event to every subscriber.
    public func publish(_ event: Event) {
        guard !subscribers.isEmpty else { return }
        let text = EventStream.frame(event)
        for subscriber in subscribers.values { send(text, to: subscriber) }
    }

    /// Ends every stream (the node is stopping); new subscribers get 503.
    public func close() {
        isClosed = true
        keepAlive?.close()
        keepAlive = nil
        let all = subscribers.values
        subscribers = [:]
        for subscriber in all { subscriber.response.end() }
    }

    /// One event as an SSE frame: its number as the id (so a reconnecting browser resumes after it)
    /// and its JSON (kind included) as the data of a plain message.
    static func frame(_ event: Event) -> String {
        var json = ""
        event.json.write(to: &json)
        return "id: \(event.sequence)\ndata: \(json)\n\n"
    }

    private func send(_ text: String, to subscriber: Subscriber) {
        guard subscriber.pending < EventStream.pendingWritesMax else {
            subscribers[ObjectIdentifier(subscriber)] = nil
            return subscriber.response.abortConnection()
        }
        subscriber.pending += 1
        subscriber.response.write(Array(text.utf8)) { [weak subscriber] _ in subscriber?.pending -= 1 }
    }

    private func armKeepAlive() {
        guard keepAlive == nil, let timer = try? Timer(loop: loop, label: "event stream keep-alive") else { return }
        timer.unref()
        keepAlive = timer
        timer.start(after: EventStream.keepAliveInterval, repeating: EventStream.keepAliveInterval) {
            [unowned self] in
            for subscriber in subscribers.values { send(": keep-alive\n\n", to: subscriber) }
        }
    }
}
