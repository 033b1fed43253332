/// S3's canned ACLs (`x-amz-acl`). This server has one user, the owner, so the private ones all mean
/// "the owner only"; the public ones are bucket policies here (`CannedPolicy`), on buckets only.
enum CannedACL: String, CaseIterable {
    case `private` = "private"
    case bucketOwnerFullControl = "bucket-owner-full-control"
    case bucketOwnerRead = "bucket-owner-read"
    case authenticatedRead = "authenticated-read"
    case awsExecRead = "aws-exec-read"
    case publicRead = "public-read"
    case publicReadWrite = "public-read-write"

    /// What anonymous callers may do under it (nil: nothing).
    var publicAccess: CannedPolicy.Access? {
        switch self {
        case .publicRead: .download
        case .publicReadWrite: .public
        default: nil
        }
    }

    /// An `x-amz-acl` value, or S3's error for one it does not define.
    static func parse(_ header: String) throws(S3Error) -> CannedACL {
        guard let acl = CannedACL(rawValue: header) else {
            throw .invalidArgument(
                "x-amz-acl '\(header)' is not a canned ACL (\(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return acl
    }

    /// The refusal of a public canned ACL on an object.
    static let objectsCannotBePublic = S3Error(
        "AccessControlListNotSupported", 400,
        "Objects are not made public one by one here: make the bucket or a prefix public with a bucket policy (devcluster bucket public BUCKET/PREFIX, or PutBucketPolicy)."
    )

    /// The refusal of explicit grants (`x-amz-grant-*`, or grants in an ACL document) to anyone else.
    static let grantsNotSupported = S3Error.notImplemented(
        "Grants to other accounts are not supported: this server has one user, the bucket owner, who has FULL_CONTROL. Use a bucket policy for anonymous access."
    )
}
