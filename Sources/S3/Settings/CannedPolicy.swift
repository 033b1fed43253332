import Core
import Storage

/// The policies behind "make this public": MinIO's anonymous access levels (`mc anonymous set`), which
/// `devcluster bucket public`, and the canned ACLs public-read and public-read-write on buckets, set.
/// Pure.
public enum CannedPolicy {
    public enum Access: String, CaseIterable, Sendable {
        /// Anyone may list and download.
        case download
        /// Anyone may upload (not list, not download).
        case upload
        /// Anyone may list, download, upload and delete.
        case `public`
    }

    /// The policy document giving anonymous `access` to `bucket`, or to the keys under `prefix` in it.
    public static func document(bucket: String, prefix: String = "", access: Access) -> String {
        let bucketARN = JSONValue.string(S3Request.arn(bucket: bucket, key: nil))
        let keysARN = JSONValue.string(S3Request.arn(bucket: bucket, key: prefix + "*"))
        func allow(_ actions: [String], _ resource: JSONValue, condition: JSONValue? = nil) -> JSONValue {
            var fields: [(String, JSONValue)] = [
                ("Effect", .string("Allow")), ("Principal", .object([("AWS", .array([.string("*")]))])),
                ("Action", .array(actions.map { .string("s3:" + $0) })), ("Resource", .array([resource])),
            ]
            if let condition { fields.append(("Condition", condition)) }
            return .object(fields)
        }
        // Listing a prefix is allowed only with that prefix (and deeper).
        let listing: JSONValue? =
            prefix.isEmpty
            ? nil : .object([("StringLike", .object([("s3:prefix", .array([.string(prefix + "*")]))]))])
        var statements = [allow(["GetBucketLocation"], bucketARN)]
        if access != .upload {
            statements.append(allow(["ListBucket"], bucketARN, condition: listing))
            statements.append(allow(["GetObject"], keysARN))
        }
        if access != .download {
            statements.append(allow(["ListBucketMultipartUploads"], bucketARN))
            var writes = ["PutObject", "AbortMultipartUpload", "ListMultipartUploadParts"]
            if access == .public { writes.append("DeleteObject") }
            statements.append(allow(writes, keysARN))
        }
        return JSONValue.object([("Version", .string("2012-10-17")), ("Statement", .array(statements))]).text
    }

    /// Which access level a policy is, when it is exactly one of these for the whole bucket (how
    /// GetBucketAcl shows a bucket made public with a canned ACL).
    static func access(of policy: BucketPolicy?, bucket: String) -> Access? {
        guard let policy else { return nil }
        return Access.allCases.first { access in
            let canned = try? Policy.parse(
                Array(document(bucket: bucket, access: access).utf8), bucket: BucketInfo(name: bucket, created: 0))
            return canned?.statements == policy.statements
        }
    }
}
