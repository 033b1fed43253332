import Loop

#if canImport(Glibc)
import Glibc
#endif

/// Finding free TCP ports on 127.0.0.1, and naming who holds a busy one.
public enum Ports {
    /// `count` free ports from `base` upward, skipping busy ones (returned with their holder, if known).
    public static func pick(
        count: Int, from base: Int, excluding: Set<Int> = []
    ) -> (ports: [Int], skipped: [(port: Int, holder: String?)]) {
        var ports: [Int] = []
        var skipped: [(Int, String?)] = []
        var candidate = base
        while ports.count < count && candidate <= 65535 {
            if excluding.contains(candidate) {
                skipped.append((candidate, "another devcluster cluster"))
            } else if TCPListener.isFree(candidate) {
                ports.append(candidate)
            } else {
                skipped.append((candidate, holder(of: candidate)))
            }
            candidate += 1
        }
        return (ports, skipped)
    }

    /// "pid 4121 (nginx)" for the process listening on `port`, when /proc lets us see it.
    public static func holder(of port: Int) -> String? {
        var inodes: Set<String> = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = ProcessControl.readSmallFile(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local_address is "IP:PORT" in hex; st 0A is LISTEN; field 9 is the inode.
                guard fields.count > 9, fields[3] == "0A", let portHex = fields[1].split(separator: ":").last,
                    Int(portHex, radix: 16) == port
                else { continue }
                inodes.insert(String(fields[9]))
            }
        }
        guard !inodes.isEmpty, let dir = opendir("/proc") else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), let fds = opendir("/proc/\(pid)/fd") else { continue }
            defer { closedir(fds) }
            while let fdEntry = readdir(fds) {
                let fdName = withUnsafeBytes(of: fdEntry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                var target = [CChar](repeating: 0, count: 256)
                let n = readlink("/proc/\(pid)/fd/\(fdName)", &target, 255)
                guard n > 0 else { continue }
                let link = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if link.hasPrefix("socket:["), inodes.contains(String(link.dropFirst(8).dropLast())) {
                    let command = ProcessControl.readSmallFile("/proc/\(pid)/comm")?.filter { $0 != "\n" } ?? "?"
                    return "pid \(pid) (\(command))"
                }
            }
        }
        return nil
    }
}
