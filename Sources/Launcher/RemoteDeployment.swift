import Cluster
import Core
import HTTP
import Node

extension Launcher {
    /// A deployment devcluster did not start (devnodes started by hand, on this host or several): its
    /// members from the endpoint list each node was started with, and the root credentials. Only what
    /// probes the nodes works on it (`status`, `verify`, `wait-for` on views): nothing here starts,
    /// stops or signals them, and there is no home folder.
    public static func remote(
        endpoints: [String], accessKey: String, secretKey: String, environment: [String: String],
        say: @escaping (String) -> Void
    ) throws(LauncherError) -> (Launcher, ClusterRecord) {
        let members: [(endpoint: HTTPEndpoint, path: String)]
        do {
            members = try NodeConfig.members(endpoints: endpoints)
        } catch {
            throw .usage("--endpoints: \(error.description)")
        }
        let record = ClusterRecord(
            name: "deployment", createdAt: "", deploymentId: "", accessKey: accessKey, secretKey: secretKey,
            region: "us-east-1", heartbeatInterval: "", deadAfter: "", parity: nil,
            nodes: members.enumerated().map { i, m in
                .init(
                    id: NodeID.forIndex(i).rawValue, port: m.endpoint.port,
                    endpoint: m.endpoint.url, process: nil)
            })
        let launcher = Launcher(
            home: ClusterHome(root: "", name: "deployment"), environment: environment, executable: "/proc/self/exe",
            say: say)
        launcher.isRemote = true
        return (launcher, record)
    }

    /// Where the cluster is, for a heading: its home folder, or a deployment's first endpoint.
    public func location(_ record: ClusterRecord) -> String {
        isRemote ? "\(record.nodes.first?.endpoint ?? "") and \(record.nodes.count - 1) more" : home.path
    }
}
