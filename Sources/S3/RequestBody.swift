import Cluster
import Core
import HTTP

/// A PUT body as the object layer wants it: the bytes of the object, with aws-chunked framing (and its
/// chunk signatures) removed, and pause/resume passed through to the connection. Loop-bound.
final class S3Body: ObjectBody {
    let request: HTTPServerRequest
    private(set) var decoder: AWSChunkedDecoder?

    init(request: HTTPServerRequest, decoder: AWSChunkedDecoder?) {
        self.request = request
        self.decoder = decoder
    }

    /// Trailing headers of an aws-chunked body (checksums), once it has ended.
    var trailers: [(name: String, value: String)] { decoder?.trailers ?? [] }

    func start(chunk: @escaping (UnsafeRawBufferPointer) -> Void, end: @escaping (ObjectError?) -> Void) {
        var failed = false
        request.streamBody(
            chunk: { [self] bytes in
                guard !failed else { return }
                guard decoder != nil else { return chunk(bytes) }
                do throws(AWSChunkedDecoder.Failure) {
                    try decoder!.feed(bytes, output: chunk)
                } catch {
                    failed = true
                    request.pauseBody()
                    end(S3Body.objectError(error))
                }
            },
            end: { [self] error in
                guard !failed else { return }
                if let error { return end(error == .timedOut ? .requestTimeout : .incompleteBody(error.description)) }
                if let decoder, !decoder.isDone {
                    return end(.incompleteBody("the aws-chunked body ended before its last chunk"))
                }
                end(nil)
            })
    }

    func pause() { request.pauseBody() }
    func resume() { request.resumeBody() }

    static func objectError(_ failure: AWSChunkedDecoder.Failure) -> ObjectError {
        switch failure {
        case .malformed(let why): .incompleteBody("malformed aws-chunked body: \(why)")
        case .chunkTooLarge(let n): .incompleteBody("an aws-chunked chunk of \(n) bytes is larger than allowed")
        case .signatureMismatch(let chunk):
            .signatureDoesNotMatch("The signature of chunk \(chunk) of the aws-chunked body does not match.")
        }
    }
}
