import Storage
import Testing

@testable import S3

@Suite("bucket notifications")
struct NotificationTests {
    @Test("events go to the webhooks whose rule matches the event name and the key's prefix and suffix")
    func targets() {
        let rules = [
            NotificationRule(id: "a", target: "1", events: ["s3:ObjectCreated:*"], prefix: "img/", suffix: ".jpg"),
            NotificationRule(id: "b", target: "2", events: ["s3:ObjectRemoved:Delete"]),
        ]
        #expect(NotificationDocument.targets(nil, event: "ObjectCreated:Put", key: "x") == nil)
        #expect(NotificationDocument.targets(rules, event: "ObjectCreated:Put", key: "img/a.jpg") == ["1"])
        #expect(NotificationDocument.targets(rules, event: "ObjectCreated:Put", key: "img/a.png") == [])
        #expect(NotificationDocument.targets(rules, event: "ObjectRemoved:Delete", key: "img/a.jpg") == ["2"])
        #expect(NotificationDocument.targets(rules, event: "ObjectRemoved:DeleteMarkerCreated", key: "k") == [])
    }

    @Test("a configuration reads back as written; unknown targets and events are refused")
    func documents() throws {
        let rules = [NotificationRule(id: "a", target: "1", events: ["s3:ObjectCreated:*"], prefix: "p/", suffix: ".s")]
        let text = NotificationDocument.document(rules)
        #expect(try NotificationDocument.parse(Array(text.utf8), webhooks: ["1"]) == rules)
        #expect(throws: S3Error.self) { try NotificationDocument.parse(Array(text.utf8), webhooks: ["2"]) }
        #expect(try NotificationDocument.parse(Array("<NotificationConfiguration/>".utf8), webhooks: ["1"]) == nil)
    }
}
