import CISAL
import Synchronization

/// Reed-Solomon over GF(2^8) with ISA-L: encodes k data shards into m parity shards and rebuilds any
/// shards from any k good ones. Uses a Cauchy matrix: every k-row submatrix is invertible, which the
/// Vandermonde-style matrix is not for some geometries (8+8, 10+6, 6+6 ...).
///
/// Thread-safe: the encode tables are immutable; decode tables are cached per (sources, targets)
/// pattern behind a mutex. Runs on the thread pool, never on the loop thread.
public final class ErasureCodec: Sendable {
    public let dataShards: Int
    public let parityShards: Int
    public var totalShards: Int { dataShards + parityShards }

    /// Most shards we support (two erasure sets of 16 would use 16 each).
    public static let totalShardsMax = 32
    /// Decode table sets kept; a full cache is cleared (loss patterns are few in practice).
    static let decodeCacheMax = 1024

    private let matrix: [UInt8]
    private let encodeTables: [UInt8]
    private let decodeCache = Mutex<[UInt64: [UInt8]]>([:])

    public struct Failure: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    public init(dataShards k: Int, parityShards m: Int) throws(Failure) {
        guard k >= 1, m >= 0, k + m <= ErasureCodec.totalShardsMax else {
            throw Failure(
                description:
                    "\(k) data + \(m) parity shards: need 1+ data, 0+ parity, at most \(ErasureCodec.totalShardsMax) in all"
            )
        }
        dataShards = k
        parityShards = m
        var a = [UInt8](repeating: 0, count: (k + m) * k)
        gf_gen_cauchy1_matrix(&a, Int32(k + m), Int32(k))
        matrix = a
        var tables = [UInt8](repeating: 0, count: max(1, 32 * k * m))
        if m > 0 {
            a.withUnsafeMutableBufferPointer { p in
                ec_init_tables(Int32(k), Int32(m), p.baseAddress! + k * k, &tables)
            }
        }
        encodeTables = tables
    }

    /// Computes the parity shards from the data shards. `shards` holds k + m pointers of `length` bytes
    /// each: data first (read), parity after (written).
    public func encode(_ shards: [UnsafeMutablePointer<UInt8>], length: Int) {
        precondition(shards.count == totalShards, "encode needs \(totalShards) shard buffers")
        guard parityShards > 0, length > 0 else { return }
        var data: [UnsafeMutablePointer<UInt8>?] = Array(shards[0..<dataShards])
        var coding: [UnsafeMutablePointer<UInt8>?] = Array(shards[dataShards...])
        encodeTables.withUnsafeBufferPointer { t in
            ec_encode_data(
                Int32(length), Int32(dataShards), Int32(parityShards), UnsafeMutablePointer(mutating: t.baseAddress!),
                &data, &coding)
        }
    }

    /// Rebuilds the shards at `targets` from k of the shards marked `good`. Every pointer is `length`
    /// bytes; targets are written, good shards read. Throws when fewer than k shards are good.
    public func reconstruct(
        _ shards: [UnsafeMutablePointer<UInt8>], good: [Bool], targets: [Int], length: Int
    ) throws(Failure) {
        precondition(
            shards.count == totalShards && good.count == totalShards, "reconstruct needs \(totalShards) shards")
        let sources = Array(good.indices.filter { good[$0] }.prefix(dataShards))
        guard sources.count == dataShards else {
            throw Failure(
                description: "only \(sources.count) of \(totalShards) shards are good; \(dataShards) are needed")
        }
        guard !targets.isEmpty, length > 0 else { return }
        let tables = try decodeTables(sources: sources, targets: targets)
        var input: [UnsafeMutablePointer<UInt8>?] = sources.map { shards[$0] }
        var output: [UnsafeMutablePointer<UInt8>?] = targets.map { shards[$0] }
        tables.withUnsafeBufferPointer { t in
            ec_encode_data(
                Int32(length), Int32(dataShards), Int32(targets.count), UnsafeMutablePointer(mutating: t.baseAddress!),
                &input, &output)
        }
    }

    private func decodeTables(sources: [Int], targets: [Int]) throws(Failure) -> [UInt8] {
        let key =
            sources.reduce(UInt64(0)) { $0 | 1 << UInt64($1) } | targets.reduce(UInt64(0)) { $0 | 1 << UInt64(32 + $1) }
        if let cached = decodeCache.withLock({ $0[key] }) { return cached }
        let k = dataShards
        // b = the rows of the encoding matrix for the sources; d = b^-1 maps source shards to data shards.
        var b = [UInt8](repeating: 0, count: k * k)
        for (row, source) in sources.enumerated() {
            for c in 0..<k { b[row * k + c] = matrix[source * k + c] }
        }
        var d = [UInt8](repeating: 0, count: k * k)
        guard gf_invert_matrix(&b, &d, Int32(k)) == 0 else {
            throw Failure(description: "the decode matrix for sources \(sources) is singular")
        }
        var rows = [UInt8](repeating: 0, count: targets.count * k)
        for (r, target) in targets.enumerated() {
            if target < k {
                for c in 0..<k { rows[r * k + c] = d[target * k + c] }
            } else {
                // A parity shard: its encoding row times d, in GF(2^8).
                for c in 0..<k {
                    var sum: UInt8 = 0
                    for j in 0..<k { sum ^= gf_mul(matrix[target * k + j], d[j * k + c]) }
                    rows[r * k + c] = sum
                }
            }
        }
        var tables = [UInt8](repeating: 0, count: 32 * k * targets.count)
        ec_init_tables(Int32(k), Int32(targets.count), &rows, &tables)
        decodeCache.withLock { cache in
            if cache.count >= ErasureCodec.decodeCacheMax { cache.removeAll() }
            cache[key] = tables
        }
        return tables
    }
}
