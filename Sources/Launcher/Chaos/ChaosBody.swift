import Core

/// Self-verifying object bodies for the chaos checker: a header line names the key, the write that
/// made the body and the SHA-256 of the payload after it, so any body read back proves by itself
/// whether it is intact and which write it came from. Pure.
public enum ChaosBody {
    static let magic = "devcluster-chaos"

    /// What a body read back says about itself.
    public enum Reading: Equatable, Sendable {
        /// Intact, and made by this write.
        case intact(write: String)
        /// Not a body any write made whole: wrong key, cut short, or bytes changed.
        case damaged(String)
    }

    /// A body of about `bytes` bytes (never less than its header) for `write` to `key`; the payload is
    /// pseudo-random from `seed`, so no two writes' bodies are alike.
    public static func make(key: String, write: String, bytes: Int, seed: UInt64) -> [UInt8] {
        var g = SeededGenerator(seed: seed)
        let payload = g.bytes(max(0, bytes - 128))
        let header =
            "\(magic) key=\(key) write=\(write) bytes=\(payload.count) sha256=\(Crypto.sha256(payload).hexString)\n"
        return Array(header.utf8) + payload
    }

    public static func read(_ body: [UInt8], key: String) -> Reading {
        guard let newline = body.prefix(512).firstIndex(of: UInt8(ascii: "\n")) else {
            return .damaged("no header line in \(body.count) bytes")
        }
        let fields = String(decoding: body[..<newline], as: UTF8.self).split(separator: " ")
        guard fields.first == Substring(magic) else { return .damaged("not a chaos body") }
        var values: [Substring: Substring] = [:]
        for field in fields.dropFirst() {
            guard let eq = field.firstIndex(of: "=") else { return .damaged("header field '\(field)'") }
            values[field[..<eq]] = field[field.index(after: eq)...]
        }
        guard let write = values["write"], let bytes = values["bytes"].flatMap({ Int($0) }), let hash = values["sha256"]
        else { return .damaged("incomplete header") }
        guard values["key"] == Substring(key) else {
            return .damaged("body of key \(values["key"] ?? "?") (write \(write)) read as \(key)")
        }
        let payload = body[(newline + 1)...]
        guard payload.count == bytes else {
            return .damaged("write \(write): \(payload.count) payload bytes, its header says \(bytes)")
        }
        guard Crypto.sha256(Array(payload)).hexString == hash else {
            return .damaged("write \(write): payload bytes differ from what was written (SHA-256 mismatch)")
        }
        return .intact(write: String(write))
    }
}
