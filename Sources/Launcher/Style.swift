#if canImport(Glibc)
import Glibc
#endif

/// Terminal output: colour only on a terminal, and never when NO_COLOR is set.
public struct Style: Sendable {
    public enum Color: String, Sendable {
        case plain = ""
        case red = "31"
        case green = "32"
        case yellow = "33"
        case blue = "34"
        case magenta = "35"
        case cyan = "36"
    }

    public let enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }

    public static func forStandardOutput(environment: [String: String]) -> Style {
        Style(enabled: isatty(1) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb")
    }

    public func paint(_ text: String, _ color: Color) -> String {
        guard enabled, color != .plain else { return text }
        return "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m"
    }

    public func bold(_ text: String) -> String { enabled ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    public func dim(_ text: String) -> String { enabled ? "\u{1B}[2m\(text)\u{1B}[0m" : text }

    /// Aligned columns; widths come from the plain text, so colours do not break alignment.
    public func table(_ header: [String], _ rows: [[(text: String, color: Color)]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.text.count) }
        }
        var out =
            header.enumerated().map { bold($0.element.padding(to: widths[$0.offset] + 1)) }.joined(separator: " ")
            + "\n"
        for row in rows {
            out +=
                row.enumerated().map { i, cell in paint(cell.text.padding(to: widths[i] + 1), cell.color) }.joined(
                    separator: " ") + "\n"
        }
        return out
    }
}
