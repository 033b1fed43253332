// make bench: erasure coding throughput per core (thread CPU time, which holds up on a busy machine):
// encode k+m, and decode with m data shards lost, of 1 MiB blocks. Not part of the product.
import Core
import Erasure

#if canImport(Glibc)
import Glibc
#endif

func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1
let block = ByteBuffer((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
for (k, m) in [(2, 2), (4, 4), (12, 4)] {
    let coder = try BlockCoder(geometry: ErasureGeometry(dataShards: k, parityShards: m))
    var frames = coder.encode(block: block.bytes)
    var blocks = 0
    var start = cpuSeconds()
    while cpuSeconds() - start < seconds {
        frames = coder.encode(block: block.bytes)
        blocks += 1
    }
    let encode = Double(blocks) / (cpuSeconds() - start) / 1024
    let lost: [ByteBuffer?] = frames.enumerated().map { $0.offset < m ? nil : $0.element }
    blocks = 0
    start = cpuSeconds()
    while cpuSeconds() - start < seconds {
        _ = try coder.decode(frames: lost, blockBytes: block.count)
        blocks += 1
    }
    let decode = Double(blocks) / (cpuSeconds() - start) / 1024
    // GB/s of data (1 MiB blocks), including the CRC-64 checksums of every frame.
    print(
        "\(k)+\(m) encode \(String(Int(encode * 1.048576 * 100)).dropLast(2)).\(String(Int(encode * 1.048576 * 100)).suffix(2)) GB/s  decode(\(m) lost) \(String(Int(decode * 1.048576 * 100)).dropLast(2)).\(String(Int(decode * 1.048576 * 100)).suffix(2)) GB/s"
    )
}
