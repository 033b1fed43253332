import Cluster
import Storage

/// A bucket setting as S3 carries it: the document a Put sends and a Get answers (CORS, lifecycle,
/// policy, ...), the setting it is kept in, and S3's answer when there is none. Pure.
protocol BucketDocument {
    associatedtype Value: Codable & Equatable & Sendable
    /// Where the setting is kept.
    static var setting: WritableKeyPath<BucketSettings, Stamped<Value>?> { get }
    /// The error of a Get when the bucket has no such setting (nil: answer the empty document).
    static var missing: S3Error? { get }
    /// The status of a successful Put (S3 answers some with 200, some with 204).
    static var putStatus: Int { get }
    /// The document's media type.
    static var contentType: String { get }
    static func document(_ value: Value?) -> String
    /// Whether a Delete may remove the setting (nil: it may).
    static func refusesDelete(_ bucket: BucketInfo) -> S3Error?
}

extension BucketDocument {
    static var putStatus: Int { 200 }
    static var contentType: String { "application/xml" }
    static func refusesDelete(_ bucket: BucketInfo) -> S3Error? { nil }

}

/// A bucket document whose Put needs nothing but the body and the bucket to be read.
protocol ParsedBucketDocument: BucketDocument {
    /// A Put's body read, checked against S3's rules and this bucket, or why it is refused.
    static func parse(_ body: [UInt8], bucket: BucketInfo) throws(S3Error) -> Value
}
