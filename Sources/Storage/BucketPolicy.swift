/// A bucket policy: the document as the owner sent it (GetBucketPolicy answers it) and the
/// statements the S3 layer understood in it.
public struct BucketPolicy: Codable, Equatable, Sendable {
    public var text: String
    public var statements: [PolicyStatement]

    public init(text: String, statements: [PolicyStatement]) {
        self.text = text
        self.statements = statements
    }
}

/// One statement of a bucket policy, for anonymous callers (`"Principal": "*"`).
public struct PolicyStatement: Codable, Equatable, Sendable {
    public enum Effect: String, Codable, Sendable {
        case allow = "Allow"
        case deny = "Deny"
    }

    public var effect: Effect
    /// Action patterns (`s3:GetObject`, `s3:Get*`, `s3:*`).
    public var actions: [String]
    /// Resource patterns (`arn:aws:s3:::photos`, `arn:aws:s3:::photos/thumbs/*`).
    public var resources: [String]
    public var conditions: [PolicyCondition]

    public init(effect: Effect, actions: [String], resources: [String], conditions: [PolicyCondition] = []) {
        self.effect = effect
        self.actions = actions
        self.resources = resources
        self.conditions = conditions
    }
}

/// One test of a policy statement's Condition block: `op` applied to the request's `key` against
/// `values` (any of them may match).
public struct PolicyCondition: Codable, Equatable, Sendable {
    public enum Operator: String, Codable, Sendable, CaseIterable {
        case stringEquals = "StringEquals"
        case stringNotEquals = "StringNotEquals"
        case stringLike = "StringLike"
        case stringNotLike = "StringNotLike"
        case ipAddress = "IpAddress"
        case notIpAddress = "NotIpAddress"
        case bool = "Bool"
    }

    public var op: Operator
    /// `s3:prefix`, `aws:SourceIp`, ... (as the policy spells it).
    public var key: String
    public var values: [String]

    public init(op: Operator, key: String, values: [String]) {
        self.op = op
        self.key = key
        self.values = values
    }
}
