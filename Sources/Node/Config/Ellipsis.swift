/// MinIO's ellipsis notation for endpoint lists: `http://node{1...4}:9000/data` stands for four URLs;
/// several ranges in one argument expand as a cartesian product (leftmost slowest), and a range written
/// with leading zeros (`{01...16}`) keeps its width.
public enum Ellipsis {
    public static let expansionMax = 1024

    public struct Failure: Error, Equatable, CustomStringConvertible, Sendable {
        public var pattern: String
        public var reason: String
        public var description: String { "'\(pattern)': \(reason)" }
    }

    public static func expand(_ pattern: String) throws(Failure) -> [String] {
        enum Piece {
            case text(String)
            case range([String])
        }
        var pieces: [Piece] = []
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw Failure(pattern: pattern, reason: "a '{' without its '}'")
            }
            let inside = rest[rest.index(after: open)..<close]
            let bounds = inside.split(separator: "...", omittingEmptySubsequences: false)
            guard bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low >= 0,
                bounds[0].allSatisfy(\.isNumber), bounds[1].allSatisfy(\.isNumber)
            else {
                throw Failure(pattern: pattern, reason: "'{\(inside)}' is not a range like {1...4}")
            }
            guard low <= high else { throw Failure(pattern: pattern, reason: "the range {\(inside)} runs backwards") }
            guard high - low < expansionMax else {
                throw Failure(pattern: pattern, reason: "the range {\(inside)} is too large")
            }
            let width = bounds[0].hasPrefix("0") && bounds[0].count > 1 ? bounds[0].count : 0
            pieces.append(.text(String(rest[..<open])))
            pieces.append(
                .range(
                    (low...high).map { n in
                        let digits = String(n)
                        return String(repeating: "0", count: max(0, width - digits.count)) + digits
                    }))
            rest = rest[rest.index(after: close)...]
        }
        if rest.contains("}") { throw Failure(pattern: pattern, reason: "a '}' without its '{'") }
        pieces.append(.text(String(rest)))
        var results = [""]
        for piece in pieces {
            switch piece {
            case .text(let t): results = results.map { $0 + t }
            case .range(let values):
                results = results.flatMap { prefix in values.map { prefix + $0 } }
                guard results.count <= expansionMax else {
                    throw Failure(pattern: pattern, reason: "expands to more than \(expansionMax) endpoints")
                }
            }
        }
        return results
    }
}
