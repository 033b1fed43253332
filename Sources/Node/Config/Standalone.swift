import Cluster
import Core
import HTTP

#if canImport(Glibc)
import Glibc
#endif

/// `devnode` without a config file, the way `minio server http://node{1...4}:9000/data` starts: the
/// member list on the command line (with `{1...4}` ranges), this node found among them by its address.
public struct StandaloneOptions: Sendable {
    /// Endpoint patterns as typed: `http://host:port/path`, ranges allowed.
    public var endpoints: [String]
    /// `host:port` to listen on; picks this node out of the list by port (and host, when given).
    public var address: String?
    /// Names this node directly (`node3`) when the address alone is ambiguous.
    public var nodeID: String?
    /// This node's data folder; defaults to the path of its own endpoint.
    public var dataDir: String?
    public var heartbeat = HeartbeatTiming()
    public var parity: Int?
    public var faults = false
    public var logLevel: Logger.Level = .info
    /// `--certs-dir`: the node's certificates (MinIO's layout), for https:// endpoints.
    public var certsDir: String?

    public init(endpoints: [String]) {
        self.endpoints = endpoints
    }

    /// The flag (or environment variable) that sets each config key a standalone node can get wrong.
    static let flagsForKeys: [String: String] = [
        "cluster.heartbeat": "--heartbeat-interval/--dead-after", "cluster.parity": "--parity",
        "cluster.dataDir": "--data", "credential.accessKey": NodeConfig.environmentAccessKey,
        "credential.secretKey": NodeConfig.environmentSecretKey,
    ]
}

extension NodeConfig {
    /// Every member of a deployment, in order, from the endpoint list each node is started with
    /// (`http://node{1...4}:9000/data`: ranges expanded), with its data path.
    public static func members(endpoints: [String]) throws(ConfigError) -> [(endpoint: HTTPEndpoint, path: String)] {
        func fail(_ problem: String, _ fix: String) -> ConfigError {
            ConfigError(source: "command line", key: "ENDPOINT", problem: problem, fix: fix)
        }
        var urls: [String] = []
        for pattern in endpoints {
            do {
                urls += try Ellipsis.expand(pattern)
            } catch {
                throw fail(error.description, "write ranges like http://127.0.0.1:{8080...8083}/data")
            }
        }
        guard !urls.isEmpty else {
            throw fail(
                "no endpoints", "list every node, e.g. devnode --address :9001 http://127.0.0.1:{9001...9004}/data")
        }
        var members: [(endpoint: HTTPEndpoint, path: String)] = []
        for url in urls {
            guard let endpoint = HTTPEndpoint(url: url) else {
                throw fail("\"\(url)\" is not an http://host:port/path (or https://) URL", "")
            }
            let afterScheme = url.dropFirst(endpoint.isSecure ? "https://".count : "http://".count)
            let path = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? ""
            members.append((endpoint, path))
        }
        return members
    }

    /// Builds and validates the config of this node from a MinIO-style command line.
    public static func standalone(
        _ options: StandaloneOptions, environment: [String: String], workingDirectory: String,
        isLocal: (String) -> Bool = LocalHost.isLocal
    ) throws(ConfigError) -> NodeConfig {
        func fail(_ key: String, _ problem: String, _ fix: String) -> ConfigError {
            ConfigError(source: "command line", key: key, problem: problem, fix: fix)
        }
        let members = try NodeConfig.members(endpoints: options.endpoints)

        let index: Int
        if let id = options.nodeID {
            guard let i = members.indices.first(where: { NodeID.forIndex($0).rawValue == id }) else {
                throw fail(
                    "--node-id", "\"\(id)\" is not one of node1...node\(members.count)",
                    "node ids follow the order of the endpoints")
            }
            index = i
        } else if members.count == 1 {
            index = 0
        } else {
            var candidates = Array(members.indices)
            if let address = options.address {
                guard let hostPort = NodeConfig.splitHostPort(address) else {
                    throw fail("--address", "\"\(address)\" is not host:port", "write it like :9001 or 127.0.0.1:9001")
                }
                candidates = candidates.filter { members[$0].endpoint.port == hostPort.port }
                let wildcard = ["", "0.0.0.0", "::"].contains(hostPort.host)
                if !wildcard { candidates = candidates.filter { members[$0].endpoint.host == hostPort.host } }
            }
            if candidates.count > 1 { candidates = candidates.filter { isLocal(members[$0].endpoint.host) } }
            guard candidates.count == 1, let only = candidates.first else {
                throw fail(
                    "--address",
                    candidates.isEmpty
                        ? "no endpoint matches this node's address"
                        : "\(candidates.count) endpoints could be this node",
                    "pass --address HOST:PORT of this node, or --node-id nodeK")
            }
            index = only
        }

        let own = members[index]
        let dataDir = options.dataDir ?? own.path
        guard !dataDir.isEmpty else {
            throw fail(
                "--data", "no data folder for this node",
                "add a path to its endpoint (http://host:port/data) or pass --data DIR")
        }
        let cluster = Cluster(
            nodeID: .forIndex(index), listen: options.address ?? ":\(own.endpoint.port)",
            nodes: members.map(\.endpoint.url), parity: options.parity, heartbeat: options.heartbeat, dataDir: dataDir,
            faults: options.faults, deploymentID: nil)
        var config = NodeConfig(cluster: cluster, baseDirectory: workingDirectory)
        config.console = LogTarget(enable: true, level: options.logLevel, filename: nil)
        config.file.enable = false
        if let certsDir = options.certsDir { config.certsDir = certsDir }
        if let user = environment[environmentAccessKey], !user.isEmpty { config.credential.accessKey = user }
        if let password = environment[environmentSecretKey], !password.isEmpty {
            config.credential.secretKey = password
        }
        do {
            try config.validate(source: "command line")
        } catch {
            throw error.namingFlag(StandaloneOptions.flagsForKeys)
        }
        return config
    }
}

/// Whether a host name or address refers to this machine (for picking this node out of a member list).
public enum LocalHost {
    public static func isLocal(_ host: String) -> Bool {
        if ["localhost", "127.0.0.1", "::1"].contains(host) || host.hasPrefix("127.") { return true }
        var name = [CChar](repeating: 0, count: 256)
        if gethostname(&name, name.count) == 0 {
            let hostname = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if host == hostname || hostname.hasPrefix(host + ".") || host.hasPrefix(hostname + ".") { return true }
        }
        let local = interfaceAddresses()
        return resolve(host).contains { local.contains($0) }
    }

    static func interfaceAddresses() -> Set<String> {
        var result: Set<String> = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return result }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            if let addr = entry.pointee.ifa_addr, let text = numericHost(addr) { result.insert(text) }
            cursor = entry.pointee.ifa_next
        }
        return result
    }

    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var out: [String] = []
        var cursor = list
        while let entry = cursor {
            if let addr = entry.pointee.ai_addr, let text = numericHost(addr) { out.append(text) }
            cursor = entry.pointee.ai_next
        }
        return out
    }

    static func numericHost(_ addr: UnsafeMutablePointer<sockaddr>) -> String? {
        let family = Int32(addr.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
        guard getnameinfo(addr, length, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else {
            return nil
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
