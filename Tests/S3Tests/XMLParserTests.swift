import Testing

@testable import S3

@Suite("XML reader")
struct XMLParserTests {
    @Test("a document reads into its elements, comments, CDATA and a prolog aside")
    func reads() throws {
        let doc = try XMLElement.parse(
            Array("<?xml version=\"1.0\"?><!-- c --><a><b>1 &amp; 2</b><![CDATA[<x>]]><c/></a>".utf8))
        #expect(doc.name == "a" && doc.child("b")?.value == "1 & 2" && doc.text == "<x>")
        #expect(doc.children.map(\.name) == ["b", "c"])
    }

    @Test("control characters are refused, as themselves or as references; tab and line ends are text")
    func controlCharacters() throws {
        for bad in ["<a>x\u{01}y</a>", "<a>\u{0}</a>", "<a>&#1;</a>", "<a>&#x1F;</a>", "<a>&#xFFFE;</a>"] {
            #expect(throws: XMLElement.Failure.self, "\(bad.debugDescription)") {
                try XMLElement.parse(Array(bad.utf8))
            }
        }
        #expect(try XMLElement.parse(Array("<a>x\ty\r\nz&#9;</a>".utf8)).text == "x\ty\r\nz\t")
    }

    @Test("an entity followed by a combining mark reads as the character and the mark (found by fuzzing)")
    func entityThenCombiningMark() throws {
        let doc = try XMLElement.parse(Array("<a>&lt;\u{301}x&amp;\u{7EC}</a>".utf8))
        #expect(doc.text.unicodeScalars.map(\.value) == [0x3C, 0x301, 0x78, 0x26, 0x7EC])
    }

    @Test("a namespace prefix is dropped only when the rest is a name itself (found by fuzzing)")
    func prefixes() throws {
        #expect(try XMLElement.parse(Array("<s3:Key>k</s3:Key>".utf8)).name == "Key")
        #expect(try XMLElement.parse(Array("<a:9>k</a:9>".utf8)).name == "a:9")
    }

    @Test(
        "an unterminated comment or prolog, or a name that is not one, is an error, never an element",
        arguments: ["<!-- />  ", "<!--", "<? />", "<!x/>", "<1a/>", "<-a/>", "<a><!-- </a>"])
    func refused(text: String) {
        // The first was found by `make fuzz`: it read as an element named `!--`.
        #expect(throws: XMLElement.Failure.self) { try XMLElement.parse(Array(text.utf8)) }
    }
}
