import Core

/// Everything a node knows about one object: all its versions, newest first. Stored as `%meta` in the
/// object's folder; its rename into place is the commit point of a write.
public struct ObjectMetadata: Codable, Equatable, Sendable {
    public var versions: [ObjectVersion]
    /// The version the last commit replaced (same version id), kept with its data until the coordinator
    /// settles that write: restored if the write failed its quorum, dropped once it succeeded.
    public var replaced: ReplacedVersion?

    public init(versions: [ObjectVersion] = [], replaced: ReplacedVersion? = nil) {
        self.versions = versions
        self.replaced = replaced
    }

    /// The newest version (which may be a delete marker).
    public var latest: ObjectVersion? { versions.first }
}

/// A version a commit replaced, and the write that replaced it.
public struct ReplacedVersion: Codable, Equatable, Sendable {
    public var version: ObjectVersion
    /// The replacing write (`ObjectVersion.sameWrite` identifies it).
    public var by: ObjectVersion

    public init(version: ObjectVersion, by: ObjectVersion) {
        self.version = version
        self.by = by
    }
}

/// What a node did with a commit.
public struct CommitReceipt: Codable, Equatable, Sendable {
    /// The commit replaced a version whose data the node keeps until the write is settled.
    public var keepsReplacedData: Bool

    public init(keepsReplacedData: Bool) {
        self.keepsReplacedData = keepsReplacedData
    }
}

/// One version of an object as one node holds it.
public struct ObjectVersion: Codable, Equatable, Sendable {
    /// `null` for writes to unversioned buckets (each replaces the last).
    public var versionID: String
    /// Modification time, milliseconds since the epoch; with `versionID`, what quorum reads agree on.
    public var modTime: Int64
    public var size: Int64
    /// MD5 hex of the content (S3's ETag for single-part objects), without quotes.
    public var etag: String
    public var contentType: String?
    /// `x-amz-meta-*` headers, names in lowercase without the prefix.
    public var userMetadata: [String: String]
    /// Other stored response headers: Cache-Control, Content-Disposition, Content-Encoding,
    /// Content-Language, Expires.
    public var headers: [String: String]
    /// `x-amz-checksum-*` values (algorithm name to base64).
    public var checksums: [String: String]
    public var isDeleteMarker: Bool
    public var erasure: ErasureInfo?
    /// The uuid of the data folder (`%data-<uuid>`) holding this node's shard file; nil when inline.
    public var dataDir: String?
    /// This node's shard frames, for small objects (no separate file); empty for an empty object.
    public var inline: [UInt8]?
    /// The parts of an object completed from a multipart upload, in order; each is erasure-coded on its
    /// own into `part.<number>` of the data folder. Nil for a single-part object (all in `part.1`).
    public var parts: [PartInfo]?
    /// Object tags (S3 tagging: at most 10, keys up to 128 and values up to 256 characters).
    public var tags: [String: String] = [:]
    /// The multipart upload this version was completed from (a repeated completion answers with it).
    public var completedUploadID: String?
    /// Object lock: the retention set on this version, and whether a legal hold is on it.
    public var retention: ObjectRetention?
    public var legalHold = false
    /// When the attributes above (tags, retention, legal hold) were last changed without a new write
    /// (ms; 0: never): of two copies of one write, the one changed last is right.
    public var attributesTime: Int64 = 0

    public init(
        versionID: String, modTime: Int64, size: Int64, etag: String, contentType: String? = nil,
        userMetadata: [String: String] = [:],
        headers: [String: String] = [:], checksums: [String: String] = [:], isDeleteMarker: Bool = false,
        erasure: ErasureInfo? = nil,
        dataDir: String? = nil, inline: [UInt8]? = nil, parts: [PartInfo]? = nil
    ) {
        self.versionID = versionID
        self.modTime = modTime
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.userMetadata = userMetadata
        self.headers = headers
        self.checksums = checksums
        self.isDeleteMarker = isDeleteMarker
        self.erasure = erasure
        self.dataDir = dataDir
        self.inline = inline
        self.parts = parts
    }

    /// The parts the object's bytes are stored in, in order: one (`part.1`) unless multipart.
    public var storedParts: [PartInfo] { parts ?? [PartInfo(number: 1, size: size, etag: etag)] }

    /// The same write as seen by two nodes (everything but this node's own shard placement).
    public func sameWrite(as other: ObjectVersion) -> Bool {
        versionID == other.versionID && modTime == other.modTime && etag == other.etag && size == other.size
            && isDeleteMarker == other.isDeleteMarker
    }
}

extension ObjectVersion {
    enum CodingKeys: String, CodingKey {
        case versionID, modTime, size, etag, contentType, userMetadata, headers, checksums, isDeleteMarker, erasure
        case dataDir, inline, parts, tags, completedUploadID, retention, legalHold, attributesTime
    }

    /// The JSON form (format 1 `%meta` files, listings between nodes) carries inline frames in base64.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        versionID = try c.decode(String.self, forKey: .versionID)
        modTime = try c.decode(Int64.self, forKey: .modTime)
        size = try c.decode(Int64.self, forKey: .size)
        etag = try c.decode(String.self, forKey: .etag)
        contentType = try c.decodeIfPresent(String.self, forKey: .contentType)
        userMetadata = try c.decode([String: String].self, forKey: .userMetadata)
        headers = try c.decode([String: String].self, forKey: .headers)
        checksums = try c.decode([String: String].self, forKey: .checksums)
        isDeleteMarker = try c.decode(Bool.self, forKey: .isDeleteMarker)
        erasure = try c.decodeIfPresent(ErasureInfo.self, forKey: .erasure)
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir)
        if let text = try c.decodeIfPresent(String.self, forKey: .inline) {
            guard let bytes = Base64.decode(text) else {
                throw DecodingError.dataCorruptedError(forKey: .inline, in: c, debugDescription: "inline is not base64")
            }
            inline = bytes
        }
        parts = try c.decodeIfPresent([PartInfo].self, forKey: .parts)
        tags = try c.decodeIfPresent([String: String].self, forKey: .tags) ?? [:]
        completedUploadID = try c.decodeIfPresent(String.self, forKey: .completedUploadID)
        retention = try c.decodeIfPresent(ObjectRetention.self, forKey: .retention)
        legalHold = try c.decodeIfPresent(Bool.self, forKey: .legalHold) ?? false
        attributesTime = try c.decodeIfPresent(Int64.self, forKey: .attributesTime) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(versionID, forKey: .versionID)
        try c.encode(modTime, forKey: .modTime)
        try c.encode(size, forKey: .size)
        try c.encode(etag, forKey: .etag)
        try c.encodeIfPresent(contentType, forKey: .contentType)
        try c.encode(userMetadata, forKey: .userMetadata)
        try c.encode(headers, forKey: .headers)
        try c.encode(checksums, forKey: .checksums)
        try c.encode(isDeleteMarker, forKey: .isDeleteMarker)
        try c.encodeIfPresent(erasure, forKey: .erasure)
        try c.encodeIfPresent(dataDir, forKey: .dataDir)
        try c.encodeIfPresent(inline.map { Base64.encode($0) }, forKey: .inline)
        try c.encodeIfPresent(parts, forKey: .parts)
        if !tags.isEmpty { try c.encode(tags, forKey: .tags) }
        try c.encodeIfPresent(completedUploadID, forKey: .completedUploadID)
        try c.encodeIfPresent(retention, forKey: .retention)
        if legalHold { try c.encode(legalHold, forKey: .legalHold) }
        if attributesTime != 0 { try c.encode(attributesTime, forKey: .attributesTime) }
    }
}

/// The attributes of a version that change without a new write: tags, retention, legal hold, and when
/// they were set (`ObjectVersion.attributesTime`).
public struct VersionAttributes: Codable, Equatable, Sendable {
    public var tags: [String: String]
    public var retention: ObjectRetention?
    public var legalHold: Bool
    public var time: Int64

    public init(tags: [String: String], retention: ObjectRetention?, legalHold: Bool, time: Int64) {
        self.tags = tags
        self.retention = retention
        self.legalHold = legalHold
        self.time = time
    }
}

extension ObjectVersion {
    /// Its attributes as they are now.
    public var attributes: VersionAttributes {
        VersionAttributes(tags: tags, retention: retention, legalHold: legalHold, time: attributesTime)
    }

    /// Takes `attributes` (and their time).
    public mutating func set(_ attributes: VersionAttributes) {
        tags = attributes.tags
        retention = attributes.retention
        legalHold = attributes.legalHold
        attributesTime = attributes.time
    }
}

/// An object lock retention: until when a version cannot be deleted or overwritten, and how strictly.
public struct ObjectRetention: Codable, Equatable, Sendable {
    public enum Mode: String, Codable, Sendable {
        /// Users with the bypass header (here: the root user who sends it) may still delete.
        case governance = "GOVERNANCE"
        /// Nobody may delete the version before `until`, nor shorten it.
        case compliance = "COMPLIANCE"
    }

    public var mode: Mode
    /// Milliseconds since the epoch.
    public var until: Int64

    public init(mode: Mode, until: Int64) {
        self.mode = mode
        self.until = until
    }
}

/// One part of a multipart object (or of an upload in progress).
public struct PartInfo: Codable, Equatable, Sendable {
    public var number: Int
    public var size: Int64
    /// MD5 hex of the part's bytes.
    public var etag: String
    /// `x-amz-checksum-*` values of the part (algorithm name to base64).
    public var checksums: [String: String]?

    public init(number: Int, size: Int64, etag: String, checksums: [String: String]? = nil) {
        self.number = number
        self.size = size
        self.etag = etag
        self.checksums = checksums
    }
}

/// A multipart upload in progress, as each node records it: what the object will be once completed.
public struct MultipartUpload: Codable, Equatable, Sendable {
    public var uploadID: String
    public var bucket: String
    public var key: String
    /// Milliseconds since the epoch.
    public var initiated: Int64
    /// The object's attributes (content type, user metadata, stored headers), and its erasure geometry
    /// and shard placement: every part is coded the same way.
    public var template: ObjectVersion
    /// The checksum every part gets and the object's is made of (absent in uploads begun without one, and
    /// in those recorded before it was kept).
    public var checksum: MultipartChecksum?

    public init(
        uploadID: String, bucket: String, key: String, initiated: Int64, template: ObjectVersion,
        checksum: MultipartChecksum? = nil
    ) {
        self.uploadID = uploadID
        self.bucket = bucket
        self.key = key
        self.initiated = initiated
        self.template = template
        self.checksum = checksum
    }
}

/// What one node holds of a multipart upload.
public struct UploadState: Codable, Equatable, Sendable {
    public var upload: MultipartUpload
    public var parts: [PartInfo]

    public init(upload: MultipartUpload, parts: [PartInfo]) {
        self.upload = upload
        self.parts = parts
    }
}

/// How a version was coded, and which shard this node holds.
public struct ErasureInfo: Codable, Equatable, Sendable {
    public var dataShards: Int
    public var parityShards: Int
    public var blockSize: Int
    /// The shard this node holds (0-based).
    public var index: Int
    /// `distribution[node]` = the shard node `node` holds.
    public var distribution: [Int]

    public init(dataShards: Int, parityShards: Int, blockSize: Int, index: Int, distribution: [Int]) {
        self.dataShards = dataShards
        self.parityShards = parityShards
        self.blockSize = blockSize
        self.index = index
        self.distribution = distribution
    }
}

/// A bucket as a node records it.
public struct BucketInfo: Codable, Equatable, Sendable {
    public var name: String
    public var created: Int64
    /// S3 bucket versioning: nil (never enabled), `Enabled` or `Suspended`.
    public var versioning: String?
    /// CORS, policy, lifecycle, object lock, notifications, tags (records written before these
    /// existed have none).
    public var settings: BucketSettings

    public init(name: String, created: Int64, versioning: String? = nil, settings: BucketSettings = BucketSettings()) {
        self.name = name
        self.created = created
        self.versioning = versioning
        self.settings = settings
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        created = try c.decode(Int64.self, forKey: .created)
        versioning = try c.decodeIfPresent(String.self, forKey: .versioning)
        settings = try c.decodeIfPresent(BucketSettings.self, forKey: .settings) ?? BucketSettings()
    }

    public var versioningEnabled: Bool { versioning == "Enabled" }
}
