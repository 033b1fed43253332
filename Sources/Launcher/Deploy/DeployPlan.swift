import Cluster
import Core
import Node

/// `devcluster deploy`: the files that run a deployment on several hosts, one devnode per host, each
/// started with the same MinIO-style command line (`devnode --address :9000
/// http://host{1...4}:9000/data`): a systemd unit and its environment file (the same on every host), a
/// compose file, or a Kubernetes StatefulSet with its headless Service. The command line is made here
/// once; the files around it come from `Templates/deploy`. Pure but for reading the templates.
public struct DeployPlan: Sendable {
    public enum Format: String, CaseIterable, Sendable {
        case systemd, compose, k8s
    }

    /// The hosts as the nodes' URLs name them, with their port (`node{1...4}:9000`).
    public var hosts: [String]
    /// Each node's data folder (the same path on every host).
    public var data: String
    public var tls = false
    /// Failure detection timings, when not devnode's defaults.
    public var heartbeatInterval: Duration?
    public var deadAfter: Duration?
    /// What the files start: the installed program (systemd) and the image (compose, Kubernetes).
    public var devnodePath = DeployPlan.defaultDevnodePath
    public var image = DeployPlan.defaultImage
    /// Kubernetes: the StatefulSet's (and headless Service's) name, namespace and volume size.
    public var name = DeployPlan.defaultName
    public var namespace = DeployPlan.defaultNamespace
    public var volumeSize = DeployPlan.defaultVolumeSize

    public static let defaultDevnodePath = "/usr/bin/devnode"
    public static let defaultImage = "devcluster:latest"
    public static let defaultName = "devnode"
    public static let defaultNamespace = "default"
    public static let defaultVolumeSize = "10Gi"
    /// A Kubernetes name is a DNS label of at most 63 characters, and the StatefulSet's name must leave
    /// room for the suffixes made from it (`-credentials`, and the controller's revision hash).
    public static let kubernetesNameMax = 47

    /// Where each node finds its certificate when `tls` (`devcluster certs` makes one per host).
    public static let certsDir = "/etc/devnode/certs"
    /// Where the systemd unit reads its environment (`EnvironmentFile=`).
    public static let environmentFile = "/etc/default/devnode"

    public init(hosts: [String], data: String) {
        self.hosts = hosts
        self.data = data
    }

    public struct Invalid: Error, Equatable, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The hosts one by one (`node1`, `node2`, ...) and the port they share.
    public func expanded() throws(Invalid) -> (hosts: [String], port: Int) {
        var names: [String] = []
        var ports: Set<Int> = []
        for pattern in hosts {
            let each: [String]
            do {
                each = try Ellipsis.expand(pattern)
            } catch {
                throw Invalid(description: "\(pattern): \(error.description)")
            }
            for host in each {
                guard let colon = host.lastIndex(of: ":"), !host.hasSuffix("]"),
                    let port = Int(host[host.index(after: colon)...]),
                    (1...65535).contains(port), colon != host.startIndex
                else { throw Invalid(description: "'\(host)' is not HOST:PORT, e.g. node{1...4}:9000") }
                let name = String(host[..<colon])
                guard name.utf8.allSatisfy({ DeployPlan.isHostByte($0) }) else {
                    throw Invalid(description: "'\(name)' is not a host name or an IP address")
                }
                names.append(name)
                ports.insert(port)
            }
        }
        guard !names.isEmpty else { throw Invalid(description: "name the hosts: --hosts node{1...4}:9000") }
        guard names.count <= ErasureSet.nodesMax else {
            throw Invalid(description: "\(names.count) hosts: a deployment has at most \(ErasureSet.nodesMax) nodes")
        }
        guard Set(names).count == names.count else { throw Invalid(description: "a host is named twice") }
        guard ports.count == 1, let port = ports.first else {
            throw Invalid(description: "give every host the same port: each runs the same command line")
        }
        guard data.hasPrefix("/") else { throw Invalid(description: "--data is an absolute path, e.g. /srv/devnode") }
        // The files quote and split words several ways (systemd's environment, compose's variables and
        // volume syntax): a path of plain characters means the same in every one of them.
        guard data.utf8.allSatisfy({ DeployPlan.isPathByte($0) }) else {
            throw Invalid(description: "--data '\(data)': use letters, digits and / . _ - only")
        }
        return (names, port)
    }

    /// devnode's options on every host (before the members).
    public func options(port: Int) -> [String] {
        var options = ["--address", ":\(port)"]
        if let heartbeatInterval { options += ["--heartbeat-interval", DurationText.format(heartbeatInterval)] }
        if let deadAfter { options += ["--dead-after", DurationText.format(deadAfter)] }
        if tls { options += ["--certs-dir", DeployPlan.certsDir] }
        return options
    }

    /// The members as devnode takes them: each host pattern as a URL with the data folder.
    public func members(hosts patterns: [String]) -> [String] {
        patterns.map { (tls ? "https://" : "http://") + $0 + data }
    }

    /// The whole argument list of every host's devnode (after the program).
    public func arguments() throws(Invalid) -> [String] {
        let (_, port) = try expanded()
        return options(port: port) + members(hosts: hosts)
    }

    /// Kubernetes names its pods `NAME-0` to `NAME-(N-1)`, reached through the headless Service: those
    /// are the hosts there, whatever `hosts` named.
    public func kubernetesArguments() throws(Invalid) -> [String] {
        let (names, port) = try expanded()
        for (what, label) in [("--name", name), ("--namespace", namespace)] {
            // Service names are RFC 1035 labels: a lowercase letter first, then letters, digits and '-'.
            guard (1...DeployPlan.kubernetesNameMax).contains(label.utf8.count), label.last != "-",
                label.utf8.first.map({ DeployPlan.isLower($0) }) == true,
                label.utf8.allSatisfy({ DeployPlan.isLower($0) || DeployPlan.isDigit($0) || $0 == UInt8(ascii: "-") })
            else {
                throw Invalid(
                    description: "\(what) '\(label)' is not a Kubernetes name: lowercase letters, digits, '-'")
            }
        }
        let pods = "\(name)-{0...\(names.count - 1)}.\(name).\(namespace).svc.cluster.local:\(port)"
        return options(port: port) + members(hosts: [pods])
    }

    /// Checks the programs the files start: an absolute devnode path and an image reference, in plain
    /// characters (a systemd unit reads `%`, `$`, quotes and spaces in its command line).
    public func checkPrograms() throws(Invalid) {
        guard devnodePath.hasPrefix("/"), devnodePath.utf8.allSatisfy({ DeployPlan.isPathByte($0) }) else {
            throw Invalid(description: "--devnode '\(devnodePath)': an absolute path of letters, digits and / . _ -")
        }
        guard !image.isEmpty,
            image.utf8.allSatisfy({ DeployPlan.isPathByte($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "@") })
        else { throw Invalid(description: "--image '\(image)' is not an image reference") }
    }

    static func isLower(_ c: UInt8) -> Bool { c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") }
    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    static func isLetterOrDigit(_ c: UInt8) -> Bool {
        isLower(c) || isDigit(c) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }
    static func isPathByte(_ c: UInt8) -> Bool { isLetterOrDigit(c) || "/._-".utf8.contains(c) }
    /// A host name, an IPv4 address or a bracketed IPv6 one.
    static func isHostByte(_ c: UInt8) -> Bool { isLetterOrDigit(c) || ".-[]:".utf8.contains(c) }
}
