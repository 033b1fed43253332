import Core
import Loop

/// Why a request body did not arrive whole.
public enum HTTPBodyError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The body is larger than the limit the handler asked for.
    case tooLarge(limit: Int64)
    /// The client closed or reset the connection before the end of the body.
    case truncated
    /// The client stopped sending body bytes for longer than the body idle timeout.
    case timedOut
    /// The request was malformed in its body (bad chunk framing).
    case malformed(String)
    /// The body failed its `HTTPBodyCheck` (it is not what was signed).
    case unauthentic(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): "the request body is larger than \(limit) bytes"
        case .truncated: "the connection closed before the whole request body arrived"
        case .timedOut: "the client stopped sending the request body"
        case .malformed(let reason): "malformed request body: \(reason)"
        case .unauthentic(let reason): "the request body is refused: \(reason)"
        }
    }

    /// The status that answers it.
    public var status: Int {
        switch self {
        case .tooLarge: 413
        case .timedOut: 408
        case .unauthentic: 403
        case .truncated, .malformed: 400
        }
    }
}

/// Checks a request body as it arrives (an authenticated request's body tag). A body that fails ends
/// with `HTTPBodyError.unauthentic` instead of completing, so no handler acts on it whole.
public protocol HTTPBodyCheck: AnyObject {
    /// Bytes at the end of the body that carry the check itself: held back from the handler.
    var trailerBytes: Int { get }
    func update(_ bytes: UnsafeRawBufferPointer)
    /// At the end of the body, given the held-back bytes: why the body is refused, or nil.
    func finish(trailer: [UInt8]) -> String?
}

/// One request as the handler sees it. Loop-bound.
///
/// The body is pulled, not pushed: nothing past the head is read from the socket until the handler asks
/// for the body (`streamBody` or `readBody`), and reading stops whenever the handler pauses. That is the
/// back-pressure: a slow consumer makes the server stop reading, then the client's TCP window fills.
public final class HTTPServerRequest {
    public let head: HTTPRequestHead
    public let remoteAddress: SocketAddress?
    public let receivedAt: Instant
    public private(set) var bodyBytesReceived: Int64 = 0

    enum BodyState {
        /// The handler has not asked for the body yet.
        case awaitingConsumer
        case streaming(paused: Bool)
        /// The response ended before the body was consumed: read and discard the rest.
        case draining
        case complete
        case failed(HTTPBodyError)
    }

    var bodyState: BodyState
    /// Checks the body as it arrives; set before the body is consumed.
    public var bodyCheck: HTTPBodyCheck?
    /// The last bytes received, held back as a possible trailer of `bodyCheck`.
    private var held: [UInt8] = []
    private var onChunk: ((UnsafeRawBufferPointer) -> Void)?
    private var onEnd: ((HTTPBodyError?) -> Void)?
    weak var connection: ServerConnection?

    init(head: HTTPRequestHead, remoteAddress: SocketAddress?, receivedAt: Instant, connection: ServerConnection) {
        self.head = head
        self.remoteAddress = remoteAddress
        self.receivedAt = receivedAt
        self.connection = connection
        bodyState = .awaitingConsumer
    }

    /// Delivers the body in chunks as it arrives. `chunk` bytes are borrowed: copy what you keep.
    /// `end` runs once: nil when the body is complete, or the reason it is not.
    public func streamBody(chunk: @escaping (UnsafeRawBufferPointer) -> Void, end: @escaping (HTTPBodyError?) -> Void) {
        guard case .awaitingConsumer = bodyState else {
            if case .failed(let e) = bodyState {
                end(e)
            } else if case .complete = bodyState {
                end(nil)
            } else {
                assertionFailure("streamBody called twice")
            }
            return
        }
        onChunk = chunk
        onEnd = end
        bodyState = .streaming(paused: false)
        connection?.bodyConsumerAttached(self)
    }

    /// Collects the whole body, up to `limit` bytes.
    public func readBody(limit: Int64, completion: @escaping (Result<[UInt8], HTTPBodyError>) -> Void) {
        if let length = head.contentLength, length > limit {
            completion(.failure(.tooLarge(limit: limit)))
            return
        }
        var collected: [UInt8] = []
        if let length = head.contentLength { collected.reserveCapacity(Int(length)) }
        var failed = false
        streamBody(
            chunk: { [unowned self] bytes in
                guard !failed else { return }
                if Int64(collected.count + bytes.count) > limit {
                    failed = true
                    self.pauseBody()
                    completion(.failure(.tooLarge(limit: limit)))
                    return
                }
                collected.append(contentsOf: bytes)
            },
            end: { error in
                guard !failed else { return }
                if let error { completion(.failure(error)) } else { completion(.success(collected)) }
            })
    }

    /// Stops reading the body (back-pressure) until `resumeBody()`.
    public func pauseBody() {
        guard case .streaming(paused: false) = bodyState else { return }
        bodyState = .streaming(paused: true)
        connection?.bodyConsumerPaused()
    }

    public func resumeBody() {
        guard case .streaming(paused: true) = bodyState else { return }
        bodyState = .streaming(paused: false)
        connection?.bodyConsumerResumed()
    }

    /// The announced length of the body the handler gets (without a check's trailer).
    public var payloadLength: Int64? {
        head.contentLength.map { max(0, $0 - Int64(bodyCheck?.trailerBytes ?? 0)) }
    }

    public var isBodyComplete: Bool {
        if case .complete = bodyState { return true }
        return false
    }

    // MARK: Called by the connection

    func deliver(_ bytes: UnsafeRawBufferPointer) {
        bodyBytesReceived += Int64(bytes.count)
        guard let check = bodyCheck else { return pass(bytes) }
        let trailer = check.trailerBytes
        guard trailer > 0 else {
            check.update(bytes)
            return pass(bytes)
        }
        // The last `trailer` bytes seen so far are held back: they may be the end of the body.
        if bytes.count >= trailer {
            if !held.isEmpty {
                let before = held
                held = []
                before.withUnsafeBytes { check.update($0) }
                before.withUnsafeBytes { pass($0) }
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - trailer)])
            check.update(payload)
            pass(payload)
            held = Array(bytes[(bytes.count - trailer)...])
        } else {
            held += bytes
            guard held.count > trailer else { return }
            let out = Array(held.prefix(held.count - trailer))
            held.removeFirst(out.count)
            out.withUnsafeBytes { check.update($0) }
            out.withUnsafeBytes { pass($0) }
        }
    }

    private func pass(_ bytes: UnsafeRawBufferPointer) {
        if case .streaming = bodyState { onChunk?(bytes) }
    }

    func complete() {
        if let why = bodyCheck?.finish(trailer: held) { return finish(.unauthentic(why)) }
        finish(nil)
    }

    func fail(_ error: HTTPBodyError) {
        finish(error)
    }

    private func finish(_ error: HTTPBodyError?) {
        switch bodyState {
        case .complete, .failed: return
        default: break
        }
        bodyState = error.map { .failed($0) } ?? .complete
        let end = onEnd
        onChunk = nil
        onEnd = nil
        end?(error)
    }
}
