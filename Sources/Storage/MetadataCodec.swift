import Core
import FoundationEssentials

/// The bytes of a `%meta` file. Format 3 (now written):
///
/// ```
/// "DCMT"  format (1 byte, = 3)  CRC-64 of the payload (8 bytes, little-endian)  payload
/// ```
///
/// where the payload is the `ObjectMetadata` in `BinaryCoding`, inline frames as raw bytes. Format 3
/// adds to every version its tags, the multipart upload it was completed from, its object-lock
/// retention and legal hold, and when those last changed. Format 2 (2026-12-02 to 2026-12-06) is the
/// same without them, and format 1 (before) the JSON of `ObjectMetadata` with inline frames in base64:
/// both are read as they are and rewritten as format 3 by the object's next commit, settle or heal. A
/// file that is none of them, or fails its checksum, is corrupt (the object's other holders still serve
/// it; a heal replaces it).
public enum MetadataFile {
    public static let magic: [UInt8] = Array("DCMT".utf8)
    public static let currentFormat: UInt8 = 3
    /// The binary formats read.
    static let formats: ClosedRange<UInt8> = 2...3
    static let headerBytes = magic.count + 1 + 8

    public static func encode(_ metadata: ObjectMetadata) -> [UInt8] {
        var payload = BinaryWriter(
            reservingCapacity: 512 + metadata.versions.reduce(0) { $0 + ($1.inline?.count ?? 0) })
        metadata.encode(to: &payload)
        let crc = payload.bytes.withUnsafeBytes { BlockHash.crc64($0) }
        var out: [UInt8] = []
        out.reserveCapacity(headerBytes + payload.bytes.count)
        out += magic
        out.append(currentFormat)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: crc >> (8 * UInt64(i)))) }
        out += payload.bytes
        return out
    }

    /// Decodes either format; the error says what is wrong with the bytes.
    public static func decode(_ bytes: [UInt8]) throws(BinaryError) -> ObjectMetadata {
        if bytes.first == UInt8(ascii: "{") {
            do {
                return try JSONDecoder().decode(ObjectMetadata.self, from: Data(bytes))
            } catch {
                throw BinaryError("format 1 (JSON) metadata does not decode: \(error)")
            }
        }
        guard bytes.count >= headerBytes, Array(bytes[0..<magic.count]) == magic else {
            throw BinaryError("not a metadata file (no DCMT header)")
        }
        let format = bytes[magic.count]
        guard format <= currentFormat else {
            throw BinaryError("metadata format \(format) is newer than this devnode reads (\(currentFormat)): upgrade")
        }
        guard formats.contains(format) else { throw BinaryError("unknown metadata format \(format)") }
        var stored: UInt64 = 0
        for i in 0..<8 { stored |= UInt64(bytes[magic.count + 1 + i]) << (8 * UInt64(i)) }
        let crc = bytes.withUnsafeBytes { BlockHash.crc64(UnsafeRawBufferPointer(rebasing: $0[headerBytes...])) }
        guard crc == stored else { throw BinaryError("metadata checksum mismatch (bitrot or a torn write)") }
        var reader = BinaryReader(bytes, offset: headerBytes)
        let metadata = format == 2 ? try FormatTwo.metadata(from: &reader) : try ObjectMetadata(from: &reader)
        guard reader.isAtEnd else { throw BinaryError("trailing bytes after the metadata") }
        return metadata
    }
}

extension ObjectMetadata: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(versions)
        w.write(replaced)
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(versions: try r.readArray(), replaced: try r.readOptional())
    }
}

extension ReplacedVersion: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(version)
        w.write(by)
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(version: try r.read(), by: try r.read())
    }
}

extension ObjectVersion: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(versionID)
        w.write(modTime)
        w.write(size)
        w.write(etag)
        w.write(contentType)
        w.write(userMetadata)
        w.write(headers)
        w.write(checksums)
        w.write(isDeleteMarker)
        w.write(erasure)
        w.write(dataDir)
        w.write(bytes: inline)
        w.write(parts.map(PartList.init))
        // Format 3:
        w.write(tags)
        w.write(completedUploadID)
        w.write(retention)
        w.write(legalHold)
        w.write(attributesTime)
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        try self.init(formatTwo: &r)
        tags = try r.readStringMap()
        completedUploadID = try r.readOptionalString()
        retention = try r.readOptional()
        legalHold = try r.readBool()
        attributesTime = try r.readInt64()
    }

    /// The fields of format 2 (the rest take their defaults).
    init(formatTwo r: inout BinaryReader) throws(BinaryError) {
        self.init(
            versionID: try r.readString(), modTime: try r.readInt64(), size: try r.readInt64(),
            etag: try r.readString(),
            contentType: try r.readOptionalString(), userMetadata: try r.readStringMap(),
            headers: try r.readStringMap(),
            checksums: try r.readStringMap(), isDeleteMarker: try r.readBool(), erasure: try r.readOptional(),
            dataDir: try r.readOptionalString(), inline: try r.readOptionalBytes(),
            parts: try r.readOptional(PartList.self)?.parts)
    }
}

/// Format 2 `%meta` files: versions without the fields format 3 added.
enum FormatTwo {
    static func metadata(from r: inout BinaryReader) throws(BinaryError) -> ObjectMetadata {
        let n = try r.readCount()
        var versions: [ObjectVersion] = []
        for _ in 0..<n { versions.append(try ObjectVersion(formatTwo: &r)) }
        var replaced: ReplacedVersion?
        if try r.readBool() {
            replaced = ReplacedVersion(
                version: try ObjectVersion(formatTwo: &r), by: try ObjectVersion(formatTwo: &r))
        }
        return ObjectMetadata(versions: versions, replaced: replaced)
    }
}

extension VersionAttributes: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(tags)
        w.write(retention)
        w.write(legalHold)
        w.write(time)
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(
            tags: try r.readStringMap(), retention: try r.readOptional(), legalHold: try r.readBool(),
            time: try r.readInt64())
    }
}

extension ObjectRetention: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(mode.rawValue)
        w.write(until)
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        let name = try r.readString()
        guard let mode = Mode(rawValue: name) else { throw BinaryError("unknown retention mode '\(name)'") }
        self.init(mode: mode, until: try r.readInt64())
    }
}

/// An array as one optional value.
private struct PartList: BinaryCodable {
    var parts: [PartInfo]
    init(_ parts: [PartInfo]) { self.parts = parts }
    func encode(to w: inout BinaryWriter) { w.write(parts) }
    init(from r: inout BinaryReader) throws(BinaryError) { parts = try r.readArray() }
}

extension PartInfo: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(number)
        w.write(size)
        w.write(etag)
        w.write(checksums.map(StringMap.init))
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        self.init(
            number: try r.readInt(), size: try r.readInt64(), etag: try r.readString(),
            checksums: try r.readOptional(StringMap.self)?.map)
    }
}

/// A dictionary as one optional value.
private struct StringMap: BinaryCodable {
    var map: [String: String]
    init(_ map: [String: String]) { self.map = map }
    func encode(to w: inout BinaryWriter) { w.write(map) }
    init(from r: inout BinaryReader) throws(BinaryError) { map = try r.readStringMap() }
}

extension ErasureInfo: BinaryCodable {
    public func encode(to w: inout BinaryWriter) {
        w.write(dataShards)
        w.write(parityShards)
        w.write(blockSize)
        w.write(index)
        w.write(UInt64(distribution.count))
        for d in distribution { w.write(d) }
    }

    public init(from r: inout BinaryReader) throws(BinaryError) {
        let data = try r.readInt()
        let parity = try r.readInt()
        let blockSize = try r.readInt()
        let index = try r.readInt()
        let n = try r.readCount()
        var distribution: [Int] = []
        distribution.reserveCapacity(n)
        for _ in 0..<n { distribution.append(try r.readInt()) }
        self.init(
            dataShards: data, parityShards: parity, blockSize: blockSize, index: index, distribution: distribution)
    }
}

extension CommitReceipt: BinaryCodable {
    public func encode(to w: inout BinaryWriter) { w.write(keepsReplacedData) }
    public init(from r: inout BinaryReader) throws(BinaryError) { self.init(keepsReplacedData: try r.readBool()) }
}
