import Storage
import Testing

@testable import Launcher

@Suite("console multipart uploads")
struct ConsoleMultipartTests {
    @Test("parts are 8 MiB, or the next whole MiB that fits a file in S3's 10 000 parts")
    func partSizes() {
        #expect(ConsoleServer.partBytes(forFileOf: 17 << 20) == 8 << 20)
        #expect(ConsoleServer.partBytes(forFileOf: 80_000 << 20) == 8 << 20)
        // 80 001 MiB needs 8.0001 MiB parts: 9 MiB, and 10 000 of them hold it.
        let size: Int64 = 80_001 << 20
        let part = ConsoleServer.partBytes(forFileOf: size)
        #expect(part == 9 << 20)
        #expect(part * Int64(MultipartLimits.partNumberMax) >= size)
        // S3's largest object (5 TiB) still fits, in parts S3 takes.
        let largest: Int64 = 5 << 40
        let big = ConsoleServer.partBytes(forFileOf: largest)
        #expect(big * Int64(MultipartLimits.partNumberMax) >= largest && big <= MultipartLimits.partBytesMax)
        #expect(big % (1 << 20) == 0)
    }
}
