/// Which nodes a command acts on: `node2`, `node1,node3`, `node2-4`, `all` (combinable: `node1,node3-4`).
public struct NodeSelector: Equatable, Sendable {
    /// 1-based node numbers, ascending.
    public let numbers: [Int]

    public struct Invalid: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(parsing text: String, nodeCount: Int) throws(Invalid) {
        let trimmed = text.lowercased().filter { !$0.isWhitespace }
        guard !trimmed.isEmpty else {
            throw Invalid(description: "no node given: write node2, node1,node3, node2-4 or all")
        }
        if trimmed == "all" {
            numbers = Array(1...max(1, nodeCount))
            return
        }
        var chosen: Set<Int> = []
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count) else { throw NodeSelector.badPart(part) }
            var range: [Int] = []
            for bound in bounds {
                let digits = bound.hasPrefix("node") ? bound.dropFirst(4) : bound
                guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let n = Int(digits) else {
                    throw NodeSelector.badPart(part)
                }
                range.append(n)
            }
            guard bounds.first?.hasPrefix("node") == true else { throw NodeSelector.badPart(part) }
            let low = range[0]
            let high = range.last!
            guard low <= high else { throw Invalid(description: "'\(part)' runs backwards: write node\(high)-\(low)") }
            for n in low...high {
                guard (1...nodeCount).contains(n) else {
                    throw Invalid(description: "node\(n) does not exist: this cluster has node1...node\(nodeCount)")
                }
                chosen.insert(n)
            }
        }
        numbers = chosen.sorted()
    }

    private static func badPart(_ part: Substring) -> Invalid {
        Invalid(description: "'\(part)' is not a node: write node2, node1,node3, node2-4 or all")
    }

    public var ids: [String] { numbers.map { "node\($0)" } }
}
