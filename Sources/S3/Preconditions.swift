import Core
import HTTP

/// The conditional headers of a request (If-Match, If-None-Match, If-Modified-Since,
/// If-Unmodified-Since, or their `x-amz-copy-source-` forms for a copy's source), judged against an
/// object as S3 does: If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since.
/// Pure.
public struct Preconditions: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case proceed
        /// GET/HEAD: 304 Not Modified.
        case notModified
        /// 412 Precondition Failed.
        case failed
    }

    public var ifMatch: [String]?
    public var ifNoneMatch: [String]?
    public var ifModifiedSince: WallTime?
    public var ifUnmodifiedSince: WallTime?

    /// Reads the headers named `prefix` + If-Match etc. (`prefix` is empty, or `x-amz-copy-source-`).
    public init(_ headers: HTTPHeaders, prefix: String = "") {
        func tags(_ name: String) -> [String]? {
            headers[prefix + name].map { $0.split(separator: ",").map { Preconditions.normalize(String($0)) } }
        }
        ifMatch = tags("If-Match")
        ifNoneMatch = tags("If-None-Match")
        ifModifiedSince = headers[prefix + "If-Modified-Since"].flatMap { WallTime(httpDate: $0) }
        ifUnmodifiedSince = headers[prefix + "If-Unmodified-Since"].flatMap { WallTime(httpDate: $0) }
    }

    public var isEmpty: Bool {
        ifMatch == nil && ifNoneMatch == nil && ifModifiedSince == nil && ifUnmodifiedSince == nil
    }

    /// For reading an object with this ETag (unquoted) last modified at `modified` (ms since the epoch).
    public func evaluate(etag: String, modified: Int64) -> Outcome {
        // HTTP dates have whole seconds: compare at that resolution.
        let seconds = modified / 1000
        if let ifMatch {
            guard ifMatch.contains("*") || ifMatch.contains(etag) else { return .failed }
        } else if let since = ifUnmodifiedSince, seconds > since.millisecondsSinceEpoch / 1000 {
            return .failed
        }
        if let ifNoneMatch {
            if ifNoneMatch.contains("*") || ifNoneMatch.contains(etag) { return .notModified }
        } else if let since = ifModifiedSince, seconds <= since.millisecondsSinceEpoch / 1000 {
            return .notModified
        }
        return .proceed
    }

    /// For writing over an object (a conditional PUT or multipart completion): nil ETag when there is
    /// none. `If-None-Match: *` fails when there is an object, `If-None-Match: <etag>` when it has that
    /// ETag; `If-Match` needs an object (with that ETag unless `*`).
    public func evaluateWrite(currentETag: String?) -> Outcome {
        if let ifNoneMatch, let current = currentETag, ifNoneMatch.contains("*") || ifNoneMatch.contains(current) {
            return .failed
        }
        if let ifMatch {
            guard let current = currentETag, ifMatch.contains("*") || ifMatch.contains(current) else { return .failed }
        }
        return .proceed
    }

    static func normalize(_ tag: String) -> String {
        var t = Substring(tag.trimmingCharacters())
        if t.hasPrefix("W/") { t = t.dropFirst(2) }
        return String(t.filter { $0 != "\"" })
    }
}
