import Core
import HTTP
import Node
import Storage

// The form-data parser and the bucket documents are the S3 layer's own, not its API: reached as the
// unit tests reach them (this module is built in debug, by `make fuzz` and `make test`).
@testable import Cluster
@testable import S3

/// The parsers that take bytes from outside, each as a function of any bytes that must neither crash
/// nor break an invariant (`require`, which traps: a trap is what the fuzzer reports). libFuzzer
/// drives them (`make fuzz`, Sources/DevclusterFuzz); `make test` replays every input kept in
/// `fuzz/corpus/<target>/` (seeds, and every crash found) through the same functions
/// (Tests/FuzzTargetTests).
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The HTTP request parser: a stream read whole and read in pieces gives the same messages.
    case http
    /// The aws-chunked decoder: whole and in pieces agree, and it never emits more than it was given.
    case awsChunked = "aws-chunked"
    /// The XML reader: bounded depth, and a document that parses prints back to one that parses alike.
    case xml
    /// SigV4 and SigV2 claims from a header and a presigned query, then their verification.
    case sigv4
    /// The Range header: a satisfiable range lies within the object.
    case range
    /// A node's config file: one that loads writes back as JSON that loads as the same config.
    case config
    /// The `%meta` decoder: what decodes re-encodes to what decodes the same.
    case metadata
    /// Internode authentication: signature headers, nonces, replay windows and body tags.
    case internode
    /// POST Object's multipart/form-data reader: whole and in pieces agree, and fields stay bounded.
    case formData = "form-data"
    /// Bucket documents (CORS, lifecycle, policy, tagging, object lock): one a Put accepts is printed
    /// by a Get as a document the same Put accepts as the same setting.
    case bucketDocuments = "bucket-documents"
    /// Every internode storage call's request and answer decoders (the first byte picks which).
    case storageCalls = "storage-calls"
    /// A browser form upload's policy document and the form fields it is checked against.
    case postPolicy = "post-policy"

    public func run(_ data: [UInt8]) {
        switch self {
        case .http: FuzzTarget.http(data)
        case .awsChunked: FuzzTarget.awsChunked(data)
        case .xml: FuzzTarget.xml(data)
        case .sigv4: FuzzTarget.sigv4(data)
        case .range: FuzzTarget.range(data)
        case .config: FuzzTarget.config(data)
        case .metadata: FuzzTarget.metadata(data)
        case .internode: FuzzTarget.internode(data)
        case .formData: FuzzTarget.formData(data)
        case .bucketDocuments: FuzzTarget.bucketDocuments(data)
        case .storageCalls: FuzzTarget.storageCalls(data)
        case .postPolicy: FuzzTarget.postPolicy(data)
        }
    }

    /// Traps with `message` when `condition` is false: an invariant the input broke.
    static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant broken: \(message())") }
    }

    /// Seeded piece sizes (1 to 16 bytes) covering `count` bytes, the seed taken from the input itself so
    /// a replay cuts it the same way.
    static func pieces(_ count: Int, _ data: [UInt8]) -> [Int] {
        var g = SeededGenerator(seed: UInt64(count) &* 0x9E37_79B9 ^ UInt64(data.first ?? 0))
        var out: [Int] = []
        var left = count
        while left > 0 {
            let n = min(Int(g.next() % 16) + 1, left)
            out.append(n)
            left -= n
        }
        return out
    }

    /// The input's lines, as text (invalid UTF-8 repaired), for targets that take several fields.
    static func lines(_ data: [UInt8]) -> [String] {
        String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    // MARK: The targets

    static func http(_ data: [UInt8]) {
        let whole = RequestStreamReading.read(data, pieces: [data.count])
        let cut = RequestStreamReading.read(data, pieces: pieces(data.count, data))
        require(whole == cut, "read whole:\n\(whole)\nread in pieces:\n\(cut)")
    }

    static func awsChunked(_ data: [UInt8]) {
        func decode(_ sizes: [Int]) -> (out: [UInt8], failure: AWSChunkedDecoder.Failure?, done: Bool) {
            var decoder = AWSChunkedDecoder(signing: .unsigned, expectsTrailer: data.first.map { $0 & 1 == 1 } ?? false)
            var out: [UInt8] = []
            var offset = 0
            for n in sizes {
                let failure = Array(data[offset..<(offset + n)]).withUnsafeBytes {
                    bytes -> AWSChunkedDecoder.Failure? in
                    do throws(AWSChunkedDecoder.Failure) {
                        try decoder.feed(bytes) { out += $0 }
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { return (out, failure, false) }
                offset += n
            }
            require(decoder.decodedBytes == Int64(out.count), "decodedBytes \(decoder.decodedBytes) != \(out.count)")
            return (out, nil, decoder.isDone)
        }
        let whole = decode(data.isEmpty ? [] : [data.count])
        let cut = decode(pieces(data.count, data))
        require(whole.out.count <= data.count, "decoded \(whole.out.count) bytes from \(data.count)")
        require(
            whole.failure == cut.failure,
            "whole: \(String(describing: whole.failure)), cut: \(String(describing: cut.failure))")
        if whole.failure == nil { require(whole.out == cut.out && whole.done == cut.done, "whole and cut differ") }
    }

    static func xml(_ data: [UInt8]) {
        guard let root = try? XMLElement.parse(data) else { return }
        func depth(_ e: XMLElement) -> Int { 1 + (e.children.map(depth).max() ?? 0) }
        require(depth(root) <= XMLElement.depthMax + 1, "depth \(depth(root)) past the limit")
        func print(_ e: XMLElement) -> String {
            "<\(e.name)>" + escape(e.text) + e.children.map(print).joined() + "</\(e.name)>"
        }
        // By Unicode scalar: a `<` followed by a combining mark is one Character, which a
        // Character-wise replace would miss (the fuzzer found that in this printer, not the reader).
        func escape(_ s: String) -> String {
            var out = String.UnicodeScalarView()
            for c in s.unicodeScalars {
                switch c {
                case "&": out.append(contentsOf: "&amp;".unicodeScalars)
                case "<": out.append(contentsOf: "&lt;".unicodeScalars)
                case ">": out.append(contentsOf: "&gt;".unicodeScalars)
                default: out.append(c)
                }
            }
            return String(out)
        }
        let printed = print(root)
        let again = Result { () throws(XMLElement.Failure) in try XMLElement.parse(Array(printed.utf8)) }
        require(
            (try? again.get()).map { print($0) == printed } ?? false,
            "a printed document does not read back alike:\n\(printed.debugDescription)\nreads as \(String(reflecting: again))"
        )
    }

    static func sigv4(_ data: [UInt8]) {
        let l = lines(data)
        var headers = HTTPHeaders()
        headers.add("Host", "127.0.0.1:9000")
        if l.count > 0 { headers.add("Authorization", l[0]) }
        if l.count > 2 { headers.add("X-Amz-Date", l[2]) }
        if l.count > 3 { headers.add("X-Amz-Content-Sha256", l[3]) }
        let query = QueryParameters(parsing: l.count > 1 ? Substring(l[1]) : nil) ?? QueryParameters()
        let head = HTTPRequestHead(method: "GET", target: "/b/k", headers: headers)
        let now = WallTime(millisecondsSinceEpoch: 1_800_000_000_000)
        if let claim = try? SigV4.claim(head, query: query) {
            _ = try? SigV4.verify(
                claim, head: head, query: query, accessKey: "minioadmin", secretKey: "minioadmin", now: now)
        }
        if let claim = try? SigV2.claim(head, query: query) {
            _ = try? SigV2.verify(
                claim, head: head, query: query, accessKey: "minioadmin", secretKey: "minioadmin", now: now)
        }
    }

    static func range(_ data: [UInt8]) {
        let l = lines(data)
        let size = Int64(l.count > 1 ? l[1].utf8.count * 37 : data.count)
        switch ByteRange.parse(l.first, size: size) {
        case .partial(let r):
            require(r.lowerBound >= 0 && r.upperBound <= size && !r.isEmpty, "range \(r) of an object of \(size)")
        case .whole, .unsatisfiable: break
        }
    }

    static func config(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        guard
            let config = try? NodeConfig.parse(text, source: "fuzz", baseDirectory: "/nonexistent", environment: [:])
        else { return }
        let written = config.json.text
        let again = try? NodeConfig.parse(written, source: "fuzz", baseDirectory: "/nonexistent", environment: [:])
        require(again == config, "a config written back loads differently:\n\(written)")
    }

    static func metadata(_ data: [UInt8]) {
        guard let decoded = try? MetadataFile.decode(data) else { return }
        let again = try? MetadataFile.decode(MetadataFile.encode(decoded))
        require(again == decoded, "%meta re-encoded decodes differently")
    }

    static func internode(_ data: [UInt8]) {
        let l = lines(data)
        let key = ClusterKey(accessKey: "minioadmin", secretKey: "minioadmin")
        var headers = HTTPHeaders()
        for (i, name) in [
            ClusterKey.callerHeader, ClusterKey.timeHeader, ClusterKey.nonceHeader, ClusterKey.bodyHeader,
            ClusterKey.signatureHeader,
        ].enumerated() where i < l.count {
            headers.add(name, l[i])
        }
        let head = HTTPRequestHead(method: "POST", target: "/_dc/v1/heartbeat", headers: headers)
        let now = WallTime(millisecondsSinceEpoch: 1_800_000_000_000)
        if case .success(let verified) = key.verify(head, now: now) {
            // Only a signature made with the key can get here: a fuzzer finding one has broken HMAC.
            require(false, "a forged request verified: \(verified.caller)")
        }
        // A request signed for real, then its body fed in the input's pieces: the check must pass
        // exactly when the bytes are the signed ones.
        let nonce = RequestNonce.next()
        let signed = key.sign(
            method: "POST", target: "/_dc/v1/heartbeat", caller: "node2", body: data, time: now, nonce: nonce)
        guard
            case .success(let verified) = key.verify(
                HTTPRequestHead(method: "POST", target: "/_dc/v1/heartbeat", headers: signed), now: now)
        else {
            return require(false, "a signed request did not verify")
        }
        var offset = 0
        for n in pieces(data.count, data) {
            data[offset..<(offset + n)].withUnsafeBytes { verified.bodyCheck.update($0) }
            offset += n
        }
        require(verified.bodyCheck.finish(trailer: []) == nil, "the signed body failed its check")
        // Nonces parsed from the input are admitted at most once.
        var windows = ReplayWindows(clockSkewMax: key.clockSkewMax)
        let t = Instant(nanoseconds: 1)
        for line in l {
            guard let n = RequestNonce(text: line) else { continue }
            let first = windows.admit(caller: "x", n, now: t)
            if first == nil { require(windows.admit(caller: "x", n, now: t) != nil, "\(line) admitted twice") }
        }
    }

    /// The first byte picks a call and whether the rest is its request or its answer. A body that decodes
    /// encodes to one that decodes too; for binary messages, to the same bytes again.
    static func storageCalls(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let call = StorageCalls.all[Int(first / 2) % StorageCalls.all.count]
        let decode = first % 2 == 0 ? call.requestAgain : call.answerAgain
        guard let once = decode(Array(data.dropFirst())) else { return }
        let twice = decode(once)
        require(twice != nil, "\(call.path): a decoded body, encoded again, does not decode")
        if call.isBinary { require(twice == once, "\(call.path): encoding is not stable") }
    }

    /// The first line is the policy document (JSON, base64-encoded here as the form carries it), the
    /// others `field=value` form fields. A policy that passes holds for the fields: every equality and
    /// prefix it states is met.
    static func postPolicy(_ data: [UInt8]) {
        let l = lines(data)
        guard let document = l.first,
            let policy = try? PostPolicy(base64: Base64.encode(Array(document.utf8)))
        else { return }
        var fields: [String: String] = [:]
        for line in l.dropFirst() {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[line[..<eq].lowercased()] = String(line[line.index(after: eq)...])
        }
        let now = WallTime(millisecondsSinceEpoch: 1_800_000_000_000)
        guard (try? policy.check(fields: fields, bucket: "photos", now: now)) != nil else { return }
        require(now < policy.expiration, "an expired policy passed")
        for condition in policy.conditions {
            switch condition {
            case .equals(let field, let value):
                require((field == "bucket" ? "photos" : fields[field]) == value, "\(field) passed unequal")
            case .startsWith(let field, let prefix) where field != "content-type":
                require(
                    (field == "bucket" ? "photos" : fields[field] ?? "").hasPrefix(prefix), "\(field) passed unprefixed"
                )
            default: break
            }
        }
    }

    /// The first line is the boundary, the rest the body.
    static func formData(_ data: [UInt8]) {
        let cut = data.firstIndex(of: 10) ?? data.count
        let boundary = String(decoding: data[..<cut], as: UTF8.self)
        guard !boundary.isEmpty, boundary.utf8.count <= 70, !boundary.contains("\r") else { return }
        let body = Array(data[min(cut + 1, data.count)...])
        func read(_ sizes: [Int]) -> (events: [FormDataParser.Event], failure: FormDataParser.Failure?) {
            var parser = FormDataParser(boundary: boundary)
            var events: [FormDataParser.Event] = []
            // The file's bytes as one event: where they are cut depends on the pieces.
            let emit = { (e: FormDataParser.Event) in
                if case .fileData(let more) = e, case .fileData(let had)? = events.last {
                    events[events.count - 1] = .fileData(had + more)
                } else {
                    events.append(e)
                }
            }
            var offset = 0
            for n in sizes {
                let failure = Array(body[offset..<(offset + n)]).withUnsafeBytes { bytes -> FormDataParser.Failure? in
                    do throws(FormDataParser.Failure) {
                        try parser.feed(bytes, emit: emit)
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { return (events, failure) }
                offset += n
            }
            do throws(FormDataParser.Failure) {
                try parser.finish()
            } catch {
                return (events, error)
            }
            return (events, nil)
        }
        let whole = read(body.isEmpty ? [] : [body.count])
        let pieces = read(pieces(body.count, body))
        require(
            whole.failure == pieces.failure,
            "whole: \(String(describing: whole.failure)), cut: \(String(describing: pieces.failure))")
        if whole.failure == nil { require(whole.events == pieces.events, "whole and cut read different forms") }
        var fields = 0
        var file = 0
        for e in whole.events {
            switch e {
            case .field(let name, let value):
                require(value.utf8.count <= FormDataParser.fieldBytesMax, "field \(name) past its limit")
                fields += name.utf8.count + value.utf8.count
            case .fileData(let bytes): file += bytes.count
            case .fileStart: break
            }
        }
        require(fields <= FormDataParser.fieldsBytesMax + FormDataParser.fieldBytesMax, "fields past their limit")
        require(file <= body.count, "\(file) file bytes from a body of \(body.count)")
    }

    /// The first byte picks the document, the rest is the body a Put sends.
    static func bucketDocuments(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let body = Array(data.dropFirst())
        let bucket = BucketInfo(name: "fuzz-bucket", created: 1_800_000_000_000)
        switch first % 5 {
        case 0: roundTrip(CORS.self, body, bucket)
        case 1: roundTrip(LifecycleDocument.self, body, bucket)
        case 2: roundTrip(Policy.self, body, bucket)
        case 3: roundTrip(BucketTagging.self, body, bucket)
        default: roundTrip(ObjectLockDocument.self, body, bucket)
        }
    }

    static func roundTrip<D: ParsedBucketDocument>(_ kind: D.Type, _ body: [UInt8], _ bucket: BucketInfo) {
        guard let value = try? D.parse(body, bucket: bucket) else { return }
        let printed = D.document(value)
        let again = Result { () throws(S3Error) in try D.parse(Array(printed.utf8), bucket: bucket) }
        require(
            (try? again.get()) == value,
            "\(D.self): the document a Get prints is not read back as the setting:\n\(printed)\nreads as \(again)")
    }
}
