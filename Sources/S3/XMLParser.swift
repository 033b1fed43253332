/// A small XML reader for the request bodies S3 clients send (CreateBucketConfiguration, and later
/// Delete and CompleteMultipartUpload): elements, text, the five entities and numeric references. No
/// DTDs, no external entities, bounded depth; attributes are skipped.
public struct XMLElement: Equatable, Sendable {
    public var name: String
    /// The element's text exactly as sent (entities resolved): an object key may be, or hold, only spaces.
    public var text: String
    public var children: [XMLElement]

    /// The text without the whitespace around it: for numbers, statuses, ETags and flags.
    public var value: String { text.trimmingWhitespace() }

    public func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    public func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    public static let depthMax = 32

    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> XMLElement {
        // XML 1.0 carries no control character but tab, line feed and carriage return, neither as itself
        // nor as a reference (S3 answers MalformedXML); taking one would store what no Get can print.
        if let at = bytes.firstIndex(where: { !Parser.isXMLCharacter(UInt32($0)) }) {
            throw Failure(
                description:
                    "a control character (0x\(String(bytes[at], radix: 16))) at byte \(at): XML cannot carry it")
        }
        var p = Parser(bytes: bytes)
        p.skipProlog()
        let root = try p.element(depth: 0)
        p.skipSpaceAndComments()
        guard p.i == bytes.count else { throw Failure(description: "text after the root element") }
        return root
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func skipSpaceAndComments() {
            while i < bytes.count {
                if [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) {
                    i += 1
                } else if starts("<!--"), let end = find("-->") {
                    i = end + 3
                } else {
                    return
                }
            }
        }

        mutating func skipProlog() {
            skipSpaceAndComments()
            if starts("<?"), let end = find("?>") { i = end + 2 }
            skipSpaceAndComments()
        }

        func starts(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= bytes.count && Array(bytes[i..<(i + u.count)]) == u
        }

        func find(_ s: String) -> Int? {
            let u = Array(s.utf8)
            var j = i
            while j + u.count <= bytes.count {
                if Array(bytes[j..<(j + u.count)]) == u { return j }
                j += 1
            }
            return nil
        }

        /// XML names start with a letter, `_` or `:` (or any non-ASCII): never `!` or `?`, so an
        /// unterminated `<!--` or `<?` is an error, not an element named `!--` (found by fuzzing).
        /// XML 1.0's Char production, below the surrogates and past them (a byte above 0x7F is part of
        /// a UTF-8 sequence: allowed here).
        static func isXMLCharacter(_ c: UInt32) -> Bool {
            c >= 0x20 ? c != 0xFFFE && c != 0xFFFF : c == 0x9 || c == 0xA || c == 0xD
        }

        static func isNameStart(_ b: UInt8) -> Bool {
            b >= 0x80 || b == UInt8(ascii: "_") || b == UInt8(ascii: ":")
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b & 0xDF)
        }

        /// Then letters, digits, `-`, `.`, `_`, `:`, non-ASCII; what follows up to `>` is attributes.
        static func isNameCharacter(_ b: UInt8) -> Bool {
            isNameStart(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-")
                || b == UInt8(ascii: ".")
        }

        mutating func name() throws(Failure) -> String {
            let start = i
            guard i < bytes.count, Parser.isNameStart(bytes[i]) else {
                throw Failure(description: "an element without a valid name")
            }
            while i < bytes.count, Parser.isNameCharacter(bytes[i]) { i += 1 }
            let full = String(decoding: bytes[start..<i], as: UTF8.self)
            // A namespace prefix is dropped, when what is left is a name itself.
            let local = full.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? full
            return local.utf8.first.map(Parser.isNameStart) == true ? local : full
        }

        mutating func element(depth: Int) throws(Failure) -> XMLElement {
            guard depth < XMLElement.depthMax else {
                throw Failure(description: "nested deeper than \(XMLElement.depthMax)")
            }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "<") else {
                throw Failure(description: "expected an element")
            }
            i += 1
            let tag = try name()
            // Attributes (xmlns ...) are not needed: skip to the end of the tag.
            while i < bytes.count, bytes[i] != UInt8(ascii: ">") { i += 1 }
            guard i < bytes.count else { throw Failure(description: "unterminated <\(tag)>") }
            if bytes[i - 1] == UInt8(ascii: "/") {
                i += 1
                return XMLElement(name: tag, text: "", children: [])
            }
            i += 1
            var element = XMLElement(name: tag, text: "", children: [])
            var text: [UInt8] = []
            while true {
                guard i < bytes.count else { throw Failure(description: "unterminated <\(tag)>") }
                if starts("<!--"), let end = find("-->") {
                    i = end + 3
                } else if starts("<![CDATA["), let end = find("]]>") {
                    text += bytes[(i + 9)..<end]
                    i = end + 3
                } else if starts("</") {
                    i += 2
                    let closing = try name()
                    guard closing == tag else { throw Failure(description: "</\(closing)> closes <\(tag)>") }
                    while i < bytes.count, bytes[i] != UInt8(ascii: ">") { i += 1 }
                    i += 1
                    element.text = try unescape(text)
                    return element
                } else if bytes[i] == UInt8(ascii: "<") {
                    element.children.append(try self.element(depth: depth + 1))
                } else {
                    text.append(bytes[i])
                    i += 1
                }
            }
        }

        /// By Unicode scalar, not Character: `&lt;` followed by a combining mark is one Character
        /// (`;` and the mark), and a Character-wise search ran past its `;` (found by fuzzing).
        func unescape(_ raw: [UInt8]) throws(Failure) -> String {
            let s = String(decoding: raw, as: UTF8.self)
            guard s.contains("&") else { return s }
            var out = String.UnicodeScalarView()
            var rest = Substring.UnicodeScalarView(s.unicodeScalars)
            while let amp = rest.firstIndex(of: "&") {
                out.append(contentsOf: rest[..<amp])
                guard let semi = rest[amp...].firstIndex(of: ";") else { throw Failure(description: "a bare '&'") }
                let entity = String(String.UnicodeScalarView(rest[rest.index(after: amp)..<semi]))
                switch entity {
                case "amp": out.append("&")
                case "lt": out.append("<")
                case "gt": out.append(">")
                case "quot": out.append("\"")
                case "apos": out.append("'")
                default:
                    let number =
                        entity.hasPrefix("#x")
                        ? UInt32(entity.dropFirst(2), radix: 16)
                        : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                    guard let number, let scalar = Unicode.Scalar(number) else {
                        throw Failure(description: "unknown entity &\(entity);")
                    }
                    guard Parser.isXMLCharacter(number) else {
                        throw Failure(description: "&\(entity); is a character XML cannot carry")
                    }
                    out.append(scalar)
                }
                rest = rest[rest.index(after: semi)...]
            }
            out.append(contentsOf: rest)
            return String(out)
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}

extension XMLElement {
    /// A request's XML body parsed, with `root` as its root element, or MalformedXML saying what is
    /// wrong.
    static func document(_ body: [UInt8], root: String) throws(S3Error) -> XMLElement {
        let xml: XMLElement
        do throws(Failure) {
            xml = try parse(body)
        } catch {
            throw .malformedXML(
                "The XML you provided was not well-formed or did not validate against our published schema: \(error)")
        }
        guard xml.name == root else { throw .malformedXML("expected a \(root) document, not \(xml.name)") }
        return xml
    }
}
