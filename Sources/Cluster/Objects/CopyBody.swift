import Core

extension ObjectLayer {
    /// A stored object (or a byte range of it) as the body of another write: what CopyObject and
    /// UploadPartCopy stream from the source's shards into the destination's, block by block, with the
    /// write's back-pressure.
    public func body(reading object: ResolvedObject, range: Range<Int64>? = nil) -> ObjectBody {
        CopyBody(layer: self, object: object, range: range)
    }
}

/// Loop-bound; one block between the read and the write at a time.
final class CopyBody: ObjectBody {
    let layer: ObjectLayer
    let object: ResolvedObject
    let range: Range<Int64>?
    private var paused = false
    private var waiting: ((Bool) -> Void)?

    init(layer: ObjectLayer, object: ResolvedObject, range: Range<Int64>?) {
        self.layer = layer
        self.object = object
        self.range = range
    }

    func start(chunk: @escaping (UnsafeRawBufferPointer) -> Void, end: @escaping (ObjectError?) -> Void) {
        layer.readObject(
            object, range: range,
            sink: { [self] buffer, more in
                chunk(buffer.bytes)
                if paused { waiting = more } else { more(true) }
            }, end)
    }

    func pause() { paused = true }

    func resume() {
        paused = false
        let more = waiting
        waiting = nil
        more?(true)
    }
}
