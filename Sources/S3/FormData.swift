/// A `multipart/form-data` body read as it streams in (browser form uploads, S3's POST Object): the
/// form's fields, then the part named `file` as a stream of bytes; parts after it are skipped, as S3
/// skips them. Fields are bounded; the file is never held whole. Pure.
struct FormDataParser {
    enum Event: Equatable {
        /// A form field (a part with a filename too, when its name is not `file`: some libraries send
        /// every field as a file part).
        case field(name: String, value: String)
        case fileStart(filename: String?, contentType: String?)
        /// Bytes of the file, in order.
        case fileData([UInt8])
    }

    struct Failure: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// Limits: one part's headers, one field's value, all fields together.
    static let headerBytesMax = 8 << 10
    static let fieldBytesMax = 64 << 10
    static let fieldsBytesMax = 256 << 10

    private enum State {
        /// Before the first boundary line.
        case preamble
        /// After a boundary: `\r\n` (a part follows) or `--` (the end).
        case afterBoundary
        case headers
        case field(name: String)
        case file
        /// After the file, or after the closing boundary: the rest is skipped.
        case done
    }

    private let delimiter: [UInt8]
    private var state = State.preamble
    private var pending: [UInt8] = []
    private var fieldBytes = 0
    /// Whether the part named `file` has ended (its closing boundary was seen).
    private(set) var fileEnded = false
    private(set) var sawFile = false

    /// The boundary of a `multipart/form-data` Content-Type, or nil when it is not one.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters() }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for p in parts.dropFirst() where p.lowercased().hasPrefix("boundary=") {
            var b = String(p.dropFirst("boundary=".count))
            if b.hasPrefix("\"") && b.hasSuffix("\"") && b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            return b.isEmpty || b.utf8.count > 70 ? nil : b
        }
        return nil
    }

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The first boundary line has no CRLF before it: seen as if it had one.
        pending = [13, 10]
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (Event) -> Void) throws(Failure) {
        if case .done = state { return }
        pending.append(contentsOf: bytes)
        try advance(emit: emit)
    }

    /// At the end of the body: the file part must have ended.
    func finish() throws(Failure) {
        guard sawFile else { throw Failure(description: "POST requires exactly one file upload per request") }
        guard fileEnded else { throw Failure(description: "the form ended before the end of its file part") }
    }

    private mutating func advance(emit: (Event) -> Void) throws(Failure) {
        var start = 0
        defer { pending.removeFirst(start) }
        while true {
            switch state {
            case .done:
                start = pending.count
                return
            case .preamble:
                guard let at = find(delimiter, from: start) else {
                    // Keep what could be the start of the delimiter.
                    start = max(start, pending.count - delimiter.count + 1)
                    guard pending.count - start < FormDataParser.headerBytesMax else {
                        throw Failure(description: "no form boundary where one was expected")
                    }
                    return
                }
                start = at + delimiter.count
                state = .afterBoundary
            case .afterBoundary:
                guard pending.count - start >= 2 else { return }
                let two = (pending[start], pending[start + 1])
                start += 2
                if two == (45, 45) {  // "--": the end
                    state = .done
                } else if two == (13, 10) {
                    state = .headers
                } else {
                    // Transport padding after the boundary is not sent by browsers or SDKs.
                    throw Failure(description: "a form boundary is not followed by a line end")
                }
            case .headers:
                guard let end = find([13, 10, 13, 10], from: start) else {
                    guard pending.count - start <= FormDataParser.headerBytesMax else {
                        throw Failure(
                            description: "a form part's headers are longer than \(FormDataParser.headerBytesMax) bytes")
                    }
                    return
                }
                let text = String(decoding: pending[start..<end], as: UTF8.self)
                start = end + 4
                let part = try FormDataParser.partHeaders(text)
                if part.name.lowercased() == "file" {
                    guard !sawFile else {
                        throw Failure(description: "POST requires exactly one file upload per request")
                    }
                    sawFile = true
                    state = .file
                    emit(.fileStart(filename: part.filename, contentType: part.contentType))
                } else {
                    state = .field(name: part.name)
                }
            case .field(let name):
                guard let at = find(delimiter, from: start) else {
                    guard pending.count - start <= FormDataParser.fieldBytesMax + delimiter.count else {
                        throw Failure(
                            description: "the form field \(name) is longer than \(FormDataParser.fieldBytesMax) bytes")
                    }
                    return
                }
                fieldBytes += at - start
                guard at - start <= FormDataParser.fieldBytesMax, fieldBytes <= FormDataParser.fieldsBytesMax else {
                    throw Failure(description: "the form's fields are larger than allowed")
                }
                emit(.field(name: name, value: String(decoding: pending[start..<at], as: UTF8.self)))
                start = at + delimiter.count
                state = .afterBoundary
            case .file:
                if let at = find(delimiter, from: start) {
                    if at > start { emit(.fileData(Array(pending[start..<at]))) }
                    start = at + delimiter.count
                    fileEnded = true
                    state = .done
                } else {
                    // All but what could be the start of the delimiter.
                    let safe = pending.count - (delimiter.count - 1)
                    if safe > start {
                        emit(.fileData(Array(pending[start..<safe])))
                        start = safe
                    }
                    return
                }
            }
        }
    }

    /// The first place `needle` occurs in `pending` at or after `from`.
    private func find(_ needle: [UInt8], from: Int) -> Int? {
        guard pending.count - from >= needle.count, let first = needle.first else { return nil }
        var i = from
        let last = pending.count - needle.count
        while i <= last {
            if pending[i] == first {
                var j = 1
                while j < needle.count && pending[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    /// A part's name, filename and content type, from its headers.
    static func partHeaders(_ text: String) throws(Failure) -> (name: String, filename: String?, contentType: String?) {
        var name: String?
        var filename: String?
        var contentType: String?
        for line in text.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let header = line[..<colon].trimmingCharacters().lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters()
            if header == "content-type" { contentType = value }
            guard header == "content-disposition" else { continue }
            for param in parameters(value) {
                if param.name == "name" { name = param.value }
                if param.name == "filename" { filename = param.value }
            }
        }
        guard let name, !name.isEmpty else { throw Failure(description: "a form part has no name") }
        return (name, filename, contentType)
    }

    /// `form-data; name="key"; filename="a b.txt"` as its parameters (quoted values unescaped).
    static func parameters(_ value: String) -> [(name: String, value: String)] {
        var out: [(String, String)] = []
        var rest = Substring(value)
        while let semicolon = rest.firstIndex(of: ";") {
            rest = rest[rest.index(after: semicolon)...].drop { $0 == " " }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let name = rest[..<eq].trimmingCharacters().lowercased()
            rest = rest[rest.index(after: eq)...]
            var v = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        v.append(c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        break
                    } else {
                        v.append(c)
                    }
                }
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                v = rest[..<end].trimmingCharacters()
                rest = rest[end...]
            }
            out.append((name, v))
        }
        return out
    }
}
