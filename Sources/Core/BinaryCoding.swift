/// A compact binary encoding for the records on hot paths (object metadata on disk and between nodes),
/// where Foundation's JSON coders cost more than the work they describe. Integers are LEB128 varints
/// (zig-zag for signed ones), byte strings and strings are a varint length and their bytes, optionals
/// a presence byte. A type's `encode` and `init(from:)` sit side by side and read in the same order.
public protocol BinaryCodable {
    func encode(to writer: inout BinaryWriter)
    init(from reader: inout BinaryReader) throws(BinaryError)
}

/// Why bytes could not be decoded: truncated, or a value out of range. Never a crash.
public struct BinaryError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity: Int = 256) {
        bytes.reserveCapacity(reservingCapacity)
    }

    public mutating func write(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func write(_ value: Int64) { write(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }
    public mutating func write(_ value: Int) { write(Int64(value)) }
    public mutating func write(_ value: Bool) { bytes.append(value ? 1 : 0) }

    public mutating func write(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            write(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func write(bytes value: some Collection<UInt8>) {
        write(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Raw bytes with no length (a header of known size).
    public mutating func writeRaw(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }

    public mutating func write<T: BinaryCodable>(_ value: T) { value.encode(to: &self) }

    public mutating func write<T: BinaryCodable>(_ value: T?) {
        write(value != nil)
        value?.encode(to: &self)
    }

    public mutating func write(_ value: String?) {
        write(value != nil)
        if let value { write(value) }
    }

    public mutating func write(bytes value: [UInt8]?) {
        write(value != nil)
        if let value { write(bytes: value) }
    }

    public mutating func write<T: BinaryCodable>(_ values: [T]) {
        write(UInt64(values.count))
        for v in values { v.encode(to: &self) }
    }

    /// Entries in key order, so equal dictionaries encode to equal bytes.
    public mutating func write(_ values: [String: String]) {
        write(UInt64(values.count))
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            write(k)
            write(v)
        }
    }
}

public struct BinaryReader {
    let bytes: [UInt8]
    public private(set) var offset: Int
    /// Largest count of an array or dictionary: a corrupt length must not allocate gigabytes.
    public static let elementCountMax = 1 << 20

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func readVarint() throws(BinaryError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw BinaryError("truncated at byte \(offset)") }
            let b = bytes[offset]
            offset += 1
            guard shift < 64 else { throw BinaryError("varint too long at byte \(offset)") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    public mutating func readInt64() throws(BinaryError) -> Int64 {
        let u = try readVarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    public mutating func readInt() throws(BinaryError) -> Int {
        let v = try readInt64()
        guard let i = Int(exactly: v) else { throw BinaryError("integer out of range") }
        return i
    }

    public mutating func readBool() throws(BinaryError) -> Bool {
        guard offset < bytes.count else { throw BinaryError("truncated at byte \(offset)") }
        let b = bytes[offset]
        offset += 1
        guard b <= 1 else { throw BinaryError("bad boolean \(b) at byte \(offset - 1)") }
        return b == 1
    }

    /// `count` bytes as they are.
    public mutating func readRaw(_ count: Int) throws(BinaryError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw BinaryError("truncated: \(count) bytes wanted at byte \(offset) of \(bytes.count)")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    public mutating func readBytes() throws(BinaryError) -> [UInt8] {
        let n = try readVarint()
        guard n <= UInt64(bytes.count - offset) else { throw BinaryError("byte string longer than the input") }
        return Array(try readRaw(Int(n)))
    }

    public mutating func readString() throws(BinaryError) -> String {
        let n = try readVarint()
        guard n <= UInt64(bytes.count - offset) else { throw BinaryError("string longer than the input") }
        let slice = try readRaw(Int(n))
        guard let s = slice.withUnsafeBufferPointer({ String(validating: $0, as: UTF8.self) }) else {
            throw BinaryError("string is not UTF-8 at byte \(offset - Int(n))")
        }
        return s
    }

    public mutating func read<T: BinaryCodable>(_: T.Type = T.self) throws(BinaryError) -> T {
        try T(from: &self)
    }

    public mutating func readOptional<T: BinaryCodable>(_: T.Type = T.self) throws(BinaryError) -> T? {
        try readBool() ? try T(from: &self) : nil
    }

    public mutating func readOptionalString() throws(BinaryError) -> String? {
        try readBool() ? try readString() : nil
    }

    public mutating func readOptionalBytes() throws(BinaryError) -> [UInt8]? {
        try readBool() ? try readBytes() : nil
    }

    public mutating func readCount() throws(BinaryError) -> Int {
        let n = try readVarint()
        guard n <= UInt64(BinaryReader.elementCountMax), n <= UInt64(bytes.count - offset) else {
            throw BinaryError("element count \(n) is too large at byte \(offset)")
        }
        return Int(n)
    }

    public mutating func readArray<T: BinaryCodable>(of _: T.Type = T.self) throws(BinaryError) -> [T] {
        let n = try readCount()
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try T(from: &self)) }
        return out
    }

    public mutating func readStringMap() throws(BinaryError) -> [String: String] {
        let n = try readCount()
        var out: [String: String] = [:]
        out.reserveCapacity(n)
        for _ in 0..<n {
            let k = try readString()
            out[k] = try readString()
        }
        return out
    }
}

extension BinaryCodable {
    /// The value alone, as bytes.
    public var binaryEncoded: [UInt8] {
        var w = BinaryWriter()
        encode(to: &w)
        return w.bytes
    }

    /// Decodes a value that must fill `bytes` exactly.
    public init(binary bytes: [UInt8]) throws(BinaryError) {
        var r = BinaryReader(bytes)
        self = try Self(from: &r)
        guard r.isAtEnd else { throw BinaryError("\(bytes.count - r.offset) bytes left over") }
    }
}
