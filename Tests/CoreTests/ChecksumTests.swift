import Testing

@testable import Core

@Suite("S3 checksums")
struct ChecksumTests {
    @Test("the CRCs match their published check values (\"123456789\")")
    func checkValues() {
        let digits = Array("123456789".utf8)
        #expect(RunningChecksum.compute(.crc32, digits) == [0xCB, 0xF4, 0x39, 0x26])
        #expect(RunningChecksum.compute(.crc32c, digits) == [0xE3, 0x06, 0x92, 0x83])
        #expect(RunningChecksum.compute(.crc64nvme, digits) == [0xAE, 0x8B, 0x14, 0x86, 0x0A, 0x79, 0x98, 0x88])
    }

    @Test("a CRC combined from the pieces' CRCs is the CRC of the whole, for random cuts")
    func combine() {
        var random = SeededGenerator(seed: 12)
        for algorithm in [ChecksumAlgorithm.crc32, .crc32c, .crc64nvme] {
            for _ in 0..<20 {
                let whole = (0..<Int.random(in: 0...3000, using: &random)).map { _ in
                    UInt8.random(in: 0...255, using: &random)
                }
                var cuts = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                    Int.random(in: 0...whole.count, using: &random)
                }
                cuts = [0] + cuts.sorted() + [whole.count]
                var combined: [UInt8]?
                for (from, to) in zip(cuts, cuts.dropFirst()) {
                    let piece = RunningChecksum.compute(algorithm, Array(whole[from..<to]))
                    combined =
                        combined.map { CRCCombine.combine(algorithm, $0, piece, secondLength: Int64(to - from))! }
                        ?? piece
                }
                #expect(combined == RunningChecksum.compute(algorithm, whole), "\(algorithm) cut at \(cuts)")
            }
        }
        #expect(CRCCombine.combine(.sha256, [1], [2], secondLength: 1) == nil)
        #expect(CRCCombine.combine(.crc32, [1, 2], [3, 4, 5, 6], secondLength: 1) == nil)
    }

    @Test("multipart checksums pair algorithms and types as S3 does")
    func pairs() {
        #expect(MultipartChecksum(algorithm: .crc32, type: nil)?.type == .composite)
        #expect(MultipartChecksum(algorithm: .crc64nvme, type: nil)?.type == .fullObject)
        #expect(MultipartChecksum(algorithm: .crc32c, type: .fullObject)?.type == .fullObject)
        #expect(MultipartChecksum(algorithm: .sha256, type: .composite)?.type == .composite)
        #expect(MultipartChecksum(algorithm: .sha1, type: .fullObject) == nil)
        #expect(MultipartChecksum(algorithm: .crc64nvme, type: .composite) == nil)
    }
}
