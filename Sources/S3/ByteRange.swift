/// The `Range` header of a GET, as S3 reads it: one `bytes=` range; a malformed or multi-range header is
/// ignored (the whole object is sent), an unsatisfiable one is an error. Pure.
public enum ByteRange {
    public enum Outcome: Equatable, Sendable {
        case whole
        case partial(Range<Int64>)
        case unsatisfiable
    }

    public static func parse(_ header: String?, size: Int64) -> Outcome {
        guard let header, header.hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters()
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash]
        let last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = Int64(last), n >= 0 else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - n)..<size)
        }
        guard let start = Int64(first), start >= 0 else { return .whole }
        guard start < size else { return .unsatisfiable }
        if last.isEmpty { return .partial(start..<size) }
        guard let end = Int64(last), end >= start else { return .whole }
        return .partial(start..<min(end + 1, size))
    }
}
