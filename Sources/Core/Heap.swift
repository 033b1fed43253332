/// A binary min-heap: the smallest element first, by `precedes`. For taking the first few of many
/// in order without sorting them all (a listing page of a folder of 100 000 keys).
public struct Heap<Element> {
    private var items: [Element]
    private let precedes: (Element, Element) -> Bool

    /// Builds the heap in O(n).
    public init(_ elements: [Element], by precedes: @escaping (Element, Element) -> Bool) {
        items = elements
        self.precedes = precedes
        if items.count > 1 {
            for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        }
    }

    public var isEmpty: Bool { items.isEmpty }
    public var count: Int { items.count }

    /// Removes and returns the smallest element, in O(log n).
    public mutating func popMin() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let min = items.removeLast()
        if !items.isEmpty { siftDown(0) }
        return min
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1
            let right = left + 1
            var smallest = i
            if left < items.count && precedes(items[left], items[smallest]) { smallest = left }
            if right < items.count && precedes(items[right], items[smallest]) { smallest = right }
            if smallest == i { return }
            items.swapAt(i, smallest)
            i = smallest
        }
    }
}
