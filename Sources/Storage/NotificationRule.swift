/// One target of a bucket's notification configuration: which events (`s3:ObjectCreated:*`), of
/// which keys, go to which of the node's configured webhooks.
public struct NotificationRule: Codable, Equatable, Sendable {
    public var id: String
    /// The webhook's name (from `arn:minio:sqs::NAME:webhook`).
    public var target: String
    /// Event names or patterns ending in `*` (`s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`).
    public var events: [String]
    public var prefix: String
    public var suffix: String

    public init(id: String, target: String, events: [String], prefix: String = "", suffix: String = "") {
        self.id = id
        self.target = target
        self.events = events
        self.prefix = prefix
        self.suffix = suffix
    }
}
