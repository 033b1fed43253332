import Core

/// Decodes an `aws-chunked` request body (`Content-Encoding: aws-chunked`) as current SDKs send it:
/// `hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n [trailers] \r\n`.
/// Signed chunks are verified one by one, each signature chained from the previous; trailers
/// (`x-amz-checksum-*`, `x-amz-trailer-signature`) are collected, the trailer signature verified.
/// Pure and incremental: bytes go in split anywhere, decoded data comes out.
public struct AWSChunkedDecoder {
    public enum Signing {
        /// STREAMING-UNSIGNED-PAYLOAD-TRAILER: no chunk signatures.
        case unsigned
        /// STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: chunk signatures chained from the seed.
        case signed(claim: SigV4.Claim, signingKey: [UInt8])
    }

    public enum Failure: Error, Equatable, Sendable {
        case malformed(String)
        case signatureMismatch(chunk: Int)
        case chunkTooLarge(Int)
    }

    /// Limits: a chunk line, a chunk, and the trailer section.
    public static let lineBytesMax = 4096
    public static let chunkBytesMax = 64 << 20
    public static let trailerBytesMax = 16 << 10

    enum State {
        case sizeLine
        case data(remaining: Int)
        case dataEnd
        case trailers
        case done
    }

    let signing: Signing
    let expectsTrailer: Bool
    var state = State.sizeLine
    var line: [UInt8] = []
    var chunkSignature: String?
    var previousSignature: String
    var chunkHash: Digest?
    var chunkIndex = 0
    var trailerBytes = 0
    public private(set) var trailers: [(name: String, value: String)] = []
    public private(set) var decodedBytes: Int64 = 0

    public init(signing: Signing, expectsTrailer: Bool) {
        self.signing = signing
        self.expectsTrailer = expectsTrailer
        if case .signed(let claim, _) = signing { previousSignature = claim.signature } else { previousSignature = "" }
    }

    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Feeds raw body bytes; decoded payload bytes go to `output` (borrowed for the call).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, output: (UnsafeRawBufferPointer) -> Void) throws(Failure)
    {
        var i = 0
        while i < bytes.count {
            switch state {
            case .done:
                throw .malformed("bytes after the end of the aws-chunked body")
            case .sizeLine, .trailers, .dataEnd:
                let b = bytes[i]
                i += 1
                line.append(b)
                guard line.count <= (isTrailers ? AWSChunkedDecoder.trailerBytesMax : AWSChunkedDecoder.lineBytesMax)
                else {
                    throw .malformed("a chunk line longer than \(AWSChunkedDecoder.lineBytesMax) bytes")
                }
                if b == UInt8(ascii: "\n") {
                    guard line.count >= 2, line[line.count - 2] == UInt8(ascii: "\r") else {
                        throw .malformed("a line not ended by CRLF")
                    }
                    let text = String(decoding: line.dropLast(2), as: UTF8.self)
                    line.removeAll(keepingCapacity: true)
                    try endOfLine(text)
                }
            case .data(let remaining):
                let n = min(remaining, bytes.count - i)
                let piece = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)])
                chunkHash?.update(piece)
                output(piece)
                decodedBytes += Int64(n)
                i += n
                state = remaining - n == 0 ? .dataEnd : .data(remaining: remaining - n)
            }
        }
    }

    private var isTrailers: Bool {
        if case .trailers = state { return true }
        return false
    }

    private mutating func endOfLine(_ text: String) throws(Failure) {
        switch state {
        case .dataEnd:
            guard text.isEmpty else { throw .malformed("chunk data longer than its size") }
            if finalCRLF {
                // The CRLF after the last (empty) chunk of a body without trailers.
                state = .done
                return
            }
            try endOfChunk()
            state = .sizeLine
        case .sizeLine:
            let parts = text.split(separator: ";", maxSplits: 1)
            guard let sizeText = parts.first, let size = Int(sizeText.trimmingCharacters(), radix: 16), size >= 0 else {
                throw .malformed("'\(text.prefix(40))' is not a chunk size")
            }
            guard size <= AWSChunkedDecoder.chunkBytesMax else { throw .chunkTooLarge(size) }
            chunkSignature = nil
            if parts.count == 2 {
                let ext = parts[1]
                if ext.hasPrefix("chunk-signature=") {
                    chunkSignature = String(ext.dropFirst("chunk-signature=".count)).lowercased()
                }
            }
            if case .signed = signing {
                guard chunkSignature != nil else {
                    throw .malformed("a signed aws-chunked body needs chunk-signature on every chunk")
                }
                chunkHash = Digest(.sha256)
            }
            if size > 0 {
                state = .data(remaining: size)
            } else {
                try endOfChunk()
                state = expectsTrailer ? .trailers : .dataEnd
                if !expectsTrailer { finalCRLF = true }
            }
        case .trailers:
            if text.isEmpty {
                try checkTrailerSignature()
                state = .done
                return
            }
            trailerBytes += text.utf8.count
            guard let colon = text.firstIndex(of: ":") else { throw .malformed("a trailer line without ':'") }
            trailers.append(
                (String(text[..<colon]).lowercased(), String(text[text.index(after: colon)...]).trimmingCharacters()))
        case .data, .done:
            break
        }
    }

    private var finalCRLF = false

    private mutating func endOfChunk() throws(Failure) {
        defer { chunkIndex += 1 }
        guard case .signed(let claim, let key) = signing, let hash = chunkHash else { return }
        let expected = SigV4.chunkSignature(
            signingKey: key, claim: claim, previous: previousSignature, chunkSHA256: hash.finish().hexString)
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array((chunkSignature ?? "").utf8)) else {
            throw .signatureMismatch(chunk: chunkIndex)
        }
        previousSignature = expected
        chunkHash = nil
    }

    private mutating func checkTrailerSignature() throws(Failure) {
        guard case .signed(let claim, let key) = signing else { return }
        guard let given = trailers.first(where: { $0.name == "x-amz-trailer-signature" })?.value.lowercased() else {
            throw .malformed("the signed trailer has no x-amz-trailer-signature")
        }
        let canonical = trailers.filter { $0.name != "x-amz-trailer-signature" }.map { "\($0.name):\($0.value)\n" }
            .joined()
        let expected = SigV4.chunkSignature(
            signingKey: key, claim: claim, previous: previousSignature,
            chunkSHA256: Crypto.sha256(Array(canonical.utf8)).hexString, trailer: true)
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array(given.utf8)) else {
            throw .signatureMismatch(chunk: chunkIndex)
        }
    }
}
