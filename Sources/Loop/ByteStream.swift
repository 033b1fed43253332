import Core

/// What a reader of a byte stream is told.
public enum StreamReadEvent {
    /// Borrowed bytes, valid only during the callback.
    case data(UnsafeRawBufferPointer)
    case endOfFile
    case error(UVError)
}

/// A connected, ordered byte stream: a TCP connection, or TLS over one. HTTP speaks over this so that
/// it never knows which. Loop-bound.
public protocol ByteStream: AnyObject {
    var peerAddress: SocketAddress? { get }
    /// Starts (or resumes) delivering reads to `handler`.
    func startReading(_ handler: @escaping (StreamReadEvent) -> Void)
    /// Resumes reading with the handler given to `startReading`.
    func resumeReading()
    /// Stops delivering reads (back-pressure: the peer's window fills).
    func stopReading()
    /// Writes `buffers` in order; `completion` runs once they are handed to the kernel, or failed.
    func write(_ buffers: [ByteBuffer], completion: ((UVError?) -> Void)?)
    /// Bytes written but not yet taken by the kernel.
    var writeQueueBytes: Int { get }
    /// Ends the sending side after pending writes.
    func shutdown(completion: ((UVError?) -> Void)?)
    func close()
}
