import Core

/// Multipart upload ids (and the staging and data folder names made like them): 1 to 64 hex digits or
/// dashes, so one can never name a path outside its folder.
public enum UploadID {
    public static let charactersMax = 64

    public static func isWellFormed(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= charactersMax && id.allSatisfy { $0.isHexDigit || $0 == "-" }
    }
}

/// Version ids as this server makes them: 32 hex digits, or `null` (the version of writes made while
/// versioning was off). Anything else cannot name a version here.
public enum VersionID {
    public static let null = "null"

    /// A fresh version id.
    public static func make() -> String { Crypto.randomBytes(16).hexString }

    public static func isWellFormed(_ id: String) -> Bool {
        id == null || (id.utf8.count == 32 && id.allSatisfy(\.isHexDigit))
    }
}

/// S3 bucket names (AWS's rules, plus `minio`, reserved for MinIO's probe paths).
public enum BucketName {
    public static let reserved: Set<String> = ["minio"]

    public static func validate(_ name: String) throws(StorageError) {
        func bad(_ reason: String) -> StorageError { .invalidBucketName(name, reason: reason) }
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { throw bad("use 3 to 63 characters") }
        guard bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 }) else {
            throw bad("use lowercase letters, digits, '.' and '-' only")
        }
        let alnum = { (b: UInt8) in (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { throw bad("start and end with a letter or digit") }
        guard !name.contains(".."), !name.contains(".-"), !name.contains("-.") else {
            throw bad("no '..', '.-' or '-.'")
        }
        let parts = name.split(separator: ".")
        if parts.count == 4 && parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) {
            throw bad("must not look like an IP address")
        }
        guard !name.hasPrefix("xn--"), !name.hasSuffix("-s3alias"), !name.hasSuffix("--ol-s3") else {
            throw bad("reserved prefix or suffix")
        }
        guard !reserved.contains(name) else { throw bad("'\(name)' is reserved (its paths are MinIO's health probes)") }
    }
}

/// Object keys, and where they live on disk.
///
/// A key maps to nested folders, one per `/`-separated segment, like MinIO, so listing walks folders in
/// order. Each segment is escaped so nothing can leave the bucket's folder: `%` and control bytes
/// become `%XX`; names the store uses itself all start with `%` followed by a letter, which no escaped
/// segment can produce. Keys MinIO also refuses are refused: empty, over 1024 bytes, NUL, `.` or `..`
/// segments, empty segments (`a//b`, `/a`), and segments longer than a file name can be.
public enum ObjectKey {
    public static let bytesMax = 1024
    static let segmentBytesMax = 255
    /// The metadata file inside an object's folder.
    public static let metadataFile = "%meta"
    /// Prefix of an object's data folders (`%data-<uuid>`).
    public static let dataDirPrefix = "%data-"
    /// The folder that holds an object whose key ends in `/` (a "directory marker").
    public static let directoryObject = "%dir"

    public static func validate(_ key: String) throws(StorageError) {
        _ = try segments(key)
    }

    /// The escaped path segments of `key` (a trailing `/` adds the `%dir` segment).
    public static func segments(_ key: String) throws(StorageError) -> [String] {
        let bytes = Array(key.utf8)
        guard !bytes.isEmpty else { throw .invalidObjectName(reason: "the key is empty") }
        guard bytes.count <= bytesMax else { throw .keyTooLong(bytes: bytes.count) }
        guard !bytes.contains(0) else { throw .invalidObjectName(reason: "the key contains a NUL byte") }
        var raw = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var directoryMarker = false
        if raw.count > 1, raw.last!.isEmpty {
            directoryMarker = true
            raw.removeLast()
        }
        var out: [String] = []
        for segment in raw {
            guard !segment.isEmpty else {
                throw .invalidObjectName(reason: "empty path segment ('//' or a leading '/')")
            }
            guard segment.elementsEqual([46]) == false, segment.elementsEqual([46, 46]) == false else {
                throw .invalidObjectName(reason: "'.' and '..' segments are not allowed")
            }
            let escaped = escape(segment)
            guard escaped.utf8.count <= segmentBytesMax else {
                throw .invalidObjectName(reason: "a path segment longer than \(segmentBytesMax) bytes")
            }
            out.append(escaped)
        }
        if directoryMarker { out.append(directoryObject) }
        return out
    }

    static func escape(_ segment: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(segment.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in segment {
            if b == UInt8(ascii: "%") || b < 0x20 || b == 0x7F {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The key segment a folder name stands for; nil for the store's own names.
    static func unescape(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") {
                guard i + 2 < bytes.count,
                    let v = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
                else {
                    return nil
                }
                out.append(v)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
