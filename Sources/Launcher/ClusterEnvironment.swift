import Core
import HTTP

/// The environment a program needs to use a cluster: AWS's SDKs and cli (`AWS_ENDPOINT_URL`, keys,
/// region), and devcluster itself (`DEVCLUSTER_HOME`, so `devcluster kill node2` from inside a
/// `devcluster exec` reaches its cluster). One definition for `devcluster env`, `exec` and `up --json`.
public enum ClusterEnvironment {
    public enum Format: String, CaseIterable, Sendable {
        case sh, fish, dotenv, json
    }

    /// `node`: the node whose endpoint is `AWS_ENDPOINT_URL` (the first by default);
    /// `DEVCLUSTER_ENDPOINTS` lists every node's.
    public static func variables(
        _ record: ClusterRecord, home: ClusterHome, node: String? = nil
    )
        throws(LauncherError) -> [(name: String, value: String)]
    {
        let chosen =
            try node.map { id throws(LauncherError) in
                guard let n = record.node(id) else {
                    throw .usage(
                        "no node '\(id)' in cluster '\(record.name)' (\(record.nodes.map(\.id).joined(separator: ", ")))"
                    )
                }
                return n
            } ?? record.nodes[0]
        let secure = HTTPEndpoint(url: chosen.endpoint)?.isSecure ?? false
        return [
            ("AWS_ENDPOINT_URL", chosen.endpoint),
            ("AWS_ACCESS_KEY_ID", record.accessKey),
            ("AWS_SECRET_ACCESS_KEY", record.secretKey),
            ("AWS_REGION", record.region),
            ("AWS_DEFAULT_REGION", record.region),
            ("DEVCLUSTER_HOME", home.root),
            ("DEVCLUSTER_ENDPOINTS", record.nodes.map(\.endpoint).joined(separator: ",")),
        ] + (secure ? [("AWS_CA_BUNDLE", home.authority.certificate)] : [])
    }

    /// The variables as a shell (`export K='v'`), fish (`set -gx K 'v'`), a dotenv file or a JSON object.
    public static func render(_ variables: [(name: String, value: String)], as format: Format) -> String {
        switch format {
        case .sh: variables.map { "export \($0.name)=\(shQuoted($0.value))" }.joined(separator: "\n")
        case .fish:
            variables.map { v in
                "set -gx \(v.name) '" + v.value.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
            }.joined(separator: "\n")
        case .dotenv:
            // Plain values unquoted, as Docker's --env-file reads them; others quoted as for sh.
            variables.map { v in
                "\(v.name)="
                    + (v.value.allSatisfy { $0.isLetter || $0.isNumber || "_./:,@%+=-".contains($0) }
                        ? v.value : shQuoted(v.value))
            }.joined(separator: "\n")
        case .json: JSONValue.object(variables.map { ($0.name, .string($0.value)) }).text
        }
    }

    /// Single-quoted for sh: a quote inside ends the quoting, is escaped, and reopens it.
    static func shQuoted(_ value: String) -> String {
        "'" + value.replacing("'", with: "'\\''") + "'"
    }
}
