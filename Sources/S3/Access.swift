/// What a request asks to do, as a bucket policy names it: the IAM action (`s3:GetObject`) and the
/// resource ARN it is on (`arn:aws:s3:::photos/cat.jpg`). One table for every operation. Pure.
extension S3Request {
    /// The action the request needs; nil for a preflight, which needs none.
    public var action: String? { S3Request.action(operation, versioned: query["versionId"] != nil) }

    /// The action of an operation on the current version or (`versioned`) on a version named.
    static func action(_ operation: Operation, versioned: Bool) -> String? {
        let name: String? =
            switch operation {
            case .listBuckets: "ListAllMyBuckets"
            case .createBucket: "CreateBucket"
            case .deleteBucket: "DeleteBucket"
            case .headBucket, .listObjects, .listObjectsV2: "ListBucket"
            case .getBucketLocation: "GetBucketLocation"
            case .listObjectVersions: "ListBucketVersions"
            case .listMultipartUploads: "ListBucketMultipartUploads"
            case .putObject, .copyObject, .createMultipartUpload, .uploadPart, .uploadPartCopy,
                .completeMultipartUpload, .postObject:
                "PutObject"
            case .getObject, .headObject: versioned ? "GetObjectVersion" : "GetObject"
            case .deleteObject: versioned ? "DeleteObjectVersion" : "DeleteObject"
            case .deleteObjects: "DeleteObject"
            case .abortMultipartUpload: "AbortMultipartUpload"
            case .listParts: "ListMultipartUploadParts"
            case .getBucketVersioning: "GetBucketVersioning"
            case .putBucketVersioning: "PutBucketVersioning"
            case .getObjectTagging: versioned ? "GetObjectVersionTagging" : "GetObjectTagging"
            case .putObjectTagging: versioned ? "PutObjectVersionTagging" : "PutObjectTagging"
            case .deleteObjectTagging: versioned ? "DeleteObjectVersionTagging" : "DeleteObjectTagging"
            case .getBucketCors: "GetBucketCORS"
            case .putBucketCors, .deleteBucketCors: "PutBucketCORS"
            case .getBucketPolicy: "GetBucketPolicy"
            case .putBucketPolicy: "PutBucketPolicy"
            case .deleteBucketPolicy: "DeleteBucketPolicy"
            case .getBucketPolicyStatus: "GetBucketPolicyStatus"
            case .getBucketAcl: "GetBucketAcl"
            case .putBucketAcl: "PutBucketAcl"
            case .getObjectAcl: versioned ? "GetObjectVersionAcl" : "GetObjectAcl"
            case .putObjectAcl: versioned ? "PutObjectVersionAcl" : "PutObjectAcl"
            case .getBucketLifecycleConfiguration: "GetLifecycleConfiguration"
            case .putBucketLifecycleConfiguration, .deleteBucketLifecycle: "PutLifecycleConfiguration"
            case .getBucketNotificationConfiguration: "GetBucketNotification"
            case .putBucketNotificationConfiguration: "PutBucketNotification"
            case .getObjectAttributes: versioned ? "GetObjectVersionAttributes" : "GetObjectAttributes"
            case .getBucketTagging: "GetBucketTagging"
            case .putBucketTagging, .deleteBucketTagging: "PutBucketTagging"
            case .getObjectLockConfiguration: "GetBucketObjectLockConfiguration"
            case .putObjectLockConfiguration: "PutBucketObjectLockConfiguration"
            case .getObjectRetention: "GetObjectRetention"
            case .putObjectRetention: "PutObjectRetention"
            case .getObjectLegalHold: "GetObjectLegalHold"
            case .putObjectLegalHold: "PutObjectLegalHold"
            case .preflight: nil
            }
        return name.map { "s3:" + $0 }
    }

    /// The ARN of what the request is on: the bucket, or one object of it.
    public var resource: String { S3Request.arn(bucket: bucket, key: key.isEmpty ? nil : key) }

    static func arn(bucket: String, key: String?) -> String {
        "arn:aws:s3:::" + bucket + (key.map { "/" + $0 } ?? "")
    }

    /// Every action some request needs (a policy naming any other is refused).
    static let actions: Set<String> = Set(
        Operation.allCases.flatMap { [action($0, versioned: false), action($0, versioned: true)] }.compactMap { $0 })

    /// The actions on objects (their resource names a key) rather than on buckets.
    static let objectActions: Set<String> = Set(
        Operation.allCases.filter(\.isOnObject).flatMap { [action($0, versioned: false), action($0, versioned: true)] }
            .compactMap { $0 })
}

extension S3Request.Operation {
    /// Whether the operation is on an object (a key), not a bucket.
    var isOnObject: Bool {
        switch self {
        case .putObject, .getObject, .headObject, .deleteObject, .createMultipartUpload, .uploadPart,
            .completeMultipartUpload, .abortMultipartUpload, .listParts, .copyObject, .uploadPartCopy,
            .putObjectTagging, .getObjectTagging, .deleteObjectTagging, .getObjectAcl, .putObjectAcl, .deleteObjects,
            .getObjectRetention, .putObjectRetention, .getObjectLegalHold, .putObjectLegalHold, .postObject,
            .getObjectAttributes:
            true
        default: false
        }
    }
}
