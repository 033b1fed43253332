/// One rule of a bucket's lifecycle configuration (S3's LifecycleRule): what the scanner removes, and
/// when, from the objects the filter selects.
public struct LifecycleRule: Codable, Equatable, Sendable {
    public var id: String
    public var enabled: Bool
    // The filter: every part given must hold.
    public var prefix: String
    public var tags: [String: String]
    public var sizeGreaterThan: Int64?
    public var sizeLessThan: Int64?
    /// The current version expires this many days after it was written...
    public var expirationDays: Int?
    /// ... or once this day has come (ms since the epoch, a midnight UTC).
    public var expirationDate: Int64?
    /// A delete marker with no older versions left under it is removed.
    public var expiredDeleteMarkers: Bool
    /// A noncurrent version is removed this many days after it became noncurrent...
    public var noncurrentDays: Int?
    /// ... except the newest this many noncurrent versions.
    public var newerNoncurrentVersions: Int?
    /// An incomplete multipart upload is aborted this many days after it began.
    public var abortIncompleteUploadDays: Int?

    public init(id: String, enabled: Bool = true, prefix: String = "") {
        self.id = id
        self.enabled = enabled
        self.prefix = prefix
        tags = [:]
        expiredDeleteMarkers = false
    }
}
