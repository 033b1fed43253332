import Core
import Storage

/// A bucket's notification configuration (Put/GetBucketNotificationConfiguration): which object
/// events, of which keys, go to which of the nodes' webhooks, named as MinIO names them
/// (`arn:minio:sqs::ID:webhook`, ID as in the node's `notify.webhook` config). A bucket without one
/// sends every event to every webhook. Pure.
enum NotificationDocument: BucketDocument {
    static var setting: WritableKeyPath<BucketSettings, Stamped<[NotificationRule]>?> { \.notifications }
    /// No configuration is the empty document, not an error.
    static let missing: S3Error? = nil
    /// The events this server sends (and their wildcards).
    static let events: Set<String> = [
        "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
        "s3:ObjectRemoved:DeleteMarkerCreated",
    ]
    static let rulesMax = 100

    /// The rules of a configuration naming `webhooks` (ids); nil for an empty one (which removes it).
    static func parse(_ body: [UInt8], webhooks: Set<String>) throws(S3Error) -> [NotificationRule]? {
        let xml = try XMLElement.document(body, root: "NotificationConfiguration")
        for other in ["TopicConfiguration", "CloudFunctionConfiguration", "EventBridgeConfiguration"]
        where xml.child(other) != nil {
            throw .notImplemented(
                "\(other) is not supported: send events to a webhook (QueueConfiguration with arn:minio:sqs::ID:webhook)"
            )
        }
        let queues = xml.all("QueueConfiguration")
        guard queues.count <= rulesMax else { throw .malformedXML("at most \(rulesMax) QueueConfigurations") }
        var out: [NotificationRule] = []
        for q in queues {
            let arn = q.child("Queue")?.value ?? ""
            let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 6, parts[0] == "arn", parts[1] == "minio", parts[2] == "sqs", parts[5] == "webhook",
                webhooks.contains(String(parts[4]))
            else {
                throw .invalidArgument(
                    "A specified destination ARN does not exist or is not well-formed: \(arn) (this cluster's webhooks: \(webhooks.sorted().map { "arn:minio:sqs::\($0):webhook" }.joined(separator: ", ")))"
                )
            }
            let events = q.all("Event").map(\.value)
            guard !events.isEmpty else { throw .malformedXML("every QueueConfiguration needs an Event") }
            if let bad = events.first(where: { !NotificationDocument.events.contains($0) }) {
                throw .invalidArgument("The event is not supported for notifications: \(bad)")
            }
            var rule = NotificationRule(
                id: q.child("Id")?.value ?? Crypto.randomBytes(8).hexString, target: String(parts[4]), events: events)
            for filter in q.child("Filter")?.child("S3Key")?.all("FilterRule") ?? [] {
                let value = filter.child("Value")?.text ?? ""
                switch filter.child("Name")?.value.lowercased() {
                case "prefix": rule.prefix = value
                case "suffix": rule.suffix = value
                default: throw .invalidArgument("filter rule name must be either prefix or suffix")
                }
            }
            out.append(rule)
        }
        return out.isEmpty ? nil : out
    }

    static func document(_ rules: [NotificationRule]?) -> String {
        var w = XMLWriter()
        w.open("NotificationConfiguration", namespace: true)
        for rule in rules ?? [] {
            w.open("QueueConfiguration")
            w.element("Id", rule.id)
            w.element("Queue", "arn:minio:sqs::\(rule.target):webhook")
            for e in rule.events { w.element("Event", e) }
            if !rule.prefix.isEmpty || !rule.suffix.isEmpty {
                w.open("Filter")
                w.open("S3Key")
                for (name, value) in [("prefix", rule.prefix), ("suffix", rule.suffix)] where !value.isEmpty {
                    w.open("FilterRule")
                    w.element("Name", name)
                    w.element("Value", value)
                    w.close("FilterRule")
                }
                w.close("S3Key")
                w.close("Filter")
            }
            w.close("QueueConfiguration")
        }
        w.close("NotificationConfiguration")
        return w.document
    }

    /// The webhooks an event (`ObjectCreated:Put`) on `key` goes to under `rules`; nil: every one (the
    /// bucket has no configuration).
    static func targets(_ rules: [NotificationRule]?, event: String, key: String) -> Set<String>? {
        guard let rules else { return nil }
        let name = "s3:" + event
        return Set(
            rules.filter { rule in
                key.hasPrefix(rule.prefix) && key.hasSuffix(rule.suffix)
                    && rule.events.contains { $0 == name || ($0.hasSuffix("*") && name.hasPrefix($0.dropLast())) }
            }.map(\.target))
    }
}
