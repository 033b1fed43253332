import FuzzTargets
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every input kept for a fuzz target (its seeds, and every crash the fuzzer found, kept as a regression
/// input) replays through the target in every test run: none may trap.
@Suite("fuzz corpora")
struct CorpusReplayTests {
    static let corpusRoot: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/fuzz/corpus"
    }()

    static func files(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(dir + "/" + name) }
        }
        return names.sorted()
    }

    static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    @Test("every target has seeds, and every kept input runs through its target", arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) {
        let inputs = CorpusReplayTests.files(CorpusReplayTests.corpusRoot + "/" + target.rawValue)
        #expect(inputs.count >= 3, "fuzz/corpus/\(target.rawValue) needs seed inputs")
        for path in inputs { target.run(CorpusReplayTests.read(path)) }
    }
}
