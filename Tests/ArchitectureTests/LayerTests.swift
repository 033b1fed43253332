import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The layers of DESIGN.md section 3, bottom first. A target may import only targets below it.
let layers: [[String]] = [
    ["CUV", "CHTTPParser", "CCrypto", "CProcess", "CFiles", "CISAL", "CFuzzDriver", "CTLS"],
    ["Core"],
    ["Loop"],
    ["TLS"],
    ["HTTP"],
    ["Erasure"],
    ["Storage"],
    ["Cluster"],
    ["S3"],
    ["Admin"],
    ["Node"],
    ["Launcher", "FuzzTargets"],
    ["DevNode", "DevCluster", "HTTPBenchServer", "CodecBench", "DevclusterFuzz"],
]

/// Modules from outside the project each target may use.
let external: Set<String> = ["Glibc", "FoundationEssentials", "Synchronization"]
let externalByTarget: [String: Set<String>] = ["DevNode": ["ArgumentParser"], "DevCluster": ["ArgumentParser"]]

func rank(_ module: String) -> Int? {
    layers.firstIndex { $0.contains(module) }
}

let sourcesRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path + "/Sources"
}()

func entries(_ dir: String) -> [String] {
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func swiftFiles(_ dir: String) -> [String] {
    entries(dir).flatMap { name -> [String] in
        let path = dir + "/" + name
        if name.hasSuffix(".swift") { return [path] }
        var s = stat()
        return stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR ? swiftFiles(path) : []
    }
}

func read(_ path: String) -> String {
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while case let n = Glibc.read(fd, &buffer, buffer.count), n > 0 { bytes += buffer[0..<n] }
    return String(decoding: bytes, as: UTF8.self)
}

@Suite("architecture")
struct LayerTests {
    @Test("every target in Sources has a place in the layer list")
    func everyTargetPlaced() {
        let targets = entries(sourcesRoot).sorted()
        #expect(!targets.isEmpty)
        for target in targets {
            #expect(rank(target) != nil, "\(target) is not in the layer list of ArchitectureTests")
        }
    }

    @Test("imports point down the layers only")
    func importsPointDown() {
        var checked = 0
        for target in entries(sourcesRoot) {
            guard let own = rank(target) else { continue }
            for file in swiftFiles(sourcesRoot + "/" + target) {
                for line in read(file).split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                        words[..<i].allSatisfy({
                            $0.hasPrefix("@")
                                || ["public", "package", "internal", "fileprivate", "private"].contains($0)
                        })
                    else { continue }
                    let module = String(words[i + 1])
                    checked += 1
                    if let r = rank(module) {
                        #expect(r < own, "\(file): \(target) imports \(module), which is not below it")
                    } else {
                        #expect(
                            external.contains(module) || externalByTarget[target, default: []].contains(module),
                            "\(file): \(target) imports \(module), which it is not allowed to use")
                    }
                }
            }
        }
        #expect(checked > 50)
    }
}
