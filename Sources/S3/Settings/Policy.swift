import Core
import Storage

/// A bucket policy (Put/Get/DeleteBucketPolicy): the subset for anonymous callers that public buckets
/// use, Allow and Deny of S3 actions on the bucket or keys under it, with a few conditions. What the
/// engine does not understand is refused at Put with MalformedPolicy naming it, never ignored. Pure.
enum Policy: ParsedBucketDocument {
    static var setting: WritableKeyPath<BucketSettings, Stamped<BucketPolicy>?> { \.policy }
    static let missing: S3Error? = S3Error("NoSuchBucketPolicy", 404, "The bucket policy does not exist")
    static var putStatus: Int { 204 }
    static var contentType: String { "application/json" }
    /// S3's limit on a bucket policy.
    static let documentBytesMax = 20 << 10
    static let versions: Set<String> = ["2012-10-17", "2008-10-17"]
    /// The condition keys the engine can answer for a request.
    static let conditionKeys: Set<String> = [
        "s3:prefix", "s3:delimiter", "s3:max-keys", "aws:SourceIp", "aws:Referer", "aws:UserAgent",
        "aws:SecureTransport",
    ]

    static func malformed(_ why: String) -> S3Error { S3Error("MalformedPolicy", 400, why) }

    static func parse(_ body: [UInt8], bucket: BucketInfo) throws(S3Error) -> BucketPolicy {
        guard body.count <= documentBytesMax else {
            throw malformed("Policies must be at most \(documentBytesMax) bytes; this one has \(body.count)")
        }
        let json: JSONValue
        do throws(JSONValue.ParseError) {
            json = try JSONValue.parse(body)
        } catch {
            throw malformed("Policies must be valid JSON: \(error)")
        }
        guard case .object(let fields) = json else { throw malformed("A policy is a JSON object") }
        for (name, _) in fields where !["Version", "Id", "Statement"].contains(name) {
            throw malformed("Unknown field \(name)")
        }
        if let version = json["Version"] {
            guard let v = version.stringValue, versions.contains(v) else {
                throw malformed("The policy must contain a valid version string (2012-10-17)")
            }
        }
        let statements: [JSONValue]
        switch json["Statement"] {
        case .array(let list) where !list.isEmpty: statements = list
        case .some(let one) where one.kindName == "an object": statements = [one]
        default: throw malformed("Missing required field Statement")
        }
        return BucketPolicy(
            text: String(decoding: body, as: UTF8.self),
            statements: try statements.map { (s) throws(S3Error) in try statement(s, bucket: bucket.name) })
    }

    static func statement(_ json: JSONValue, bucket: String) throws(S3Error) -> PolicyStatement {
        guard case .object(let fields) = json else { throw malformed("Each Statement is a JSON object") }
        for (name, _) in fields where !["Sid", "Effect", "Principal", "Action", "Resource", "Condition"].contains(name)
        {
            throw malformed(
                name.hasPrefix("Not")
                    ? "\(name) is not understood here: name the actions, resources and principals a statement is for"
                    : "Unknown field \(name) in a Statement")
        }
        guard let effect = json["Effect"]?.stringValue.flatMap(PolicyStatement.Effect.init(rawValue:)) else {
            throw malformed("Each Statement needs an Effect of Allow or Deny")
        }
        guard let principal = json["Principal"] else { throw malformed("Missing required field Principal") }
        guard isAnyone(principal) else {
            throw malformed(
                "Only anonymous principals are understood (\"Principal\": \"*\"): this server has one user, its owner, who is always allowed"
            )
        }
        let actions = try strings(json["Action"], "Action")
        for a in actions
        where !a.lowercased().hasPrefix("s3:")
            || !S3Request.actions.contains(where: { Wildcard.matches(a, $0, ignoringCase: true) })
        {
            throw malformed("Policy has invalid action: \(a)")
        }
        let resources = try strings(json["Resource"], "Resource")
        for r in resources {
            guard r.hasPrefix("arn:aws:s3:::"),
                let name = r.dropFirst("arn:aws:s3:::".count).split(separator: "/", maxSplits: 1).first,
                Wildcard.matches(String(name), bucket)
            else {
                throw malformed(
                    "Policy has invalid resource: \(r) (resources are arn:aws:s3:::\(bucket) or arn:aws:s3:::\(bucket)/KEYS)"
                )
            }
        }
        // Some action must apply to some resource: object actions to keys, bucket actions to the bucket.
        let applies = actions.contains { a in
            S3Request.actions.contains { known in
                Wildcard.matches(a, known, ignoringCase: true)
                    && resources.contains { r in
                        r.dropFirst("arn:aws:s3:::".count).contains("/") == S3Request.objectActions.contains(known)
                    }
            }
        }
        guard applies else { throw malformed("Action does not apply to any resource(s) in statement") }
        return PolicyStatement(
            effect: effect, actions: actions, resources: resources, conditions: try conditions(json["Condition"]))
    }

    static func isAnyone(_ principal: JSONValue) -> Bool {
        if principal.stringValue == "*" { return true }
        guard case .object(let fields) = principal, fields.count == 1, fields[0].0 == "AWS" else { return false }
        switch fields[0].1 {
        case .string("*"): return true
        case .array(let list): return list == [.string("*")]
        default: return false
        }
    }

    /// A field that is one string or a non-empty list of them.
    static func strings(_ json: JSONValue?, _ field: String) throws(S3Error) -> [String] {
        switch json {
        case .string(let s): return [s]
        case .array(let list) where !list.isEmpty:
            let out = list.compactMap(\.stringValue)
            guard out.count == list.count else { throw malformed("\(field) must hold strings") }
            return out
        case nil: throw malformed("Missing required field \(field)")
        default: throw malformed("\(field) must be a string or a list of strings")
        }
    }

    static func conditions(_ json: JSONValue?) throws(S3Error) -> [PolicyCondition] {
        guard let json else { return [] }
        guard case .object(let ops) = json else { throw malformed("Condition must be a JSON object") }
        var out: [PolicyCondition] = []
        for (opName, tests) in ops {
            guard let op = PolicyCondition.Operator(rawValue: opName) else {
                throw malformed(
                    "Condition operator \(opName) is not understood (only \(PolicyCondition.Operator.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            guard case .object(let keys) = tests else { throw malformed("Condition \(opName) must be a JSON object") }
            for (key, value) in keys {
                guard conditionKeys.contains(key) else {
                    throw malformed(
                        "Condition key \(key) is not understood (only \(conditionKeys.sorted().joined(separator: ", ")))"
                    )
                }
                let values: [String]
                switch value {
                case .bool(let b): values = [b ? "true" : "false"]
                default: values = try strings(value, "Condition \(opName) \(key)")
                }
                if op == .ipAddress || op == .notIpAddress {
                    for v in values where IPRange(v) == nil {
                        throw malformed("\(v) is not an IP address or CIDR range")
                    }
                }
                out.append(PolicyCondition(op: op, key: key, values: values))
            }
        }
        return out
    }

    static func document(_ value: BucketPolicy?) -> String { value?.text ?? "" }

    // MARK: Deciding

    /// What a request brings to the conditions: `s3:prefix`, `aws:SourceIp`, ...
    typealias Context = [String: String]

    /// Whether an anonymous request may do `action` on `resource`: an explicit Deny wins, then an Allow;
    /// nothing else is allowed.
    static func allows(_ policy: BucketPolicy?, action: String, resource: String, context: Context) -> Bool {
        guard let policy else { return false }
        let applying = policy.statements.filter { s in
            s.actions.contains { Wildcard.matches($0, action, ignoringCase: true) }
                && s.resources.contains { Wildcard.matches($0, resource) }
                && s.conditions.allSatisfy { holds($0, context) }
        }
        if applying.contains(where: { $0.effect == .deny }) { return false }
        return applying.contains { $0.effect == .allow }
    }

    static func holds(_ c: PolicyCondition, _ context: Context) -> Bool {
        let negated = c.op == .stringNotEquals || c.op == .stringNotLike || c.op == .notIpAddress
        // A key the request does not have: only the negated operators hold (as in IAM).
        guard let value = context[c.key] else { return negated }
        switch c.op {
        case .stringEquals: return c.values.contains(value)
        case .stringNotEquals: return !c.values.contains(value)
        case .stringLike: return c.values.contains { Wildcard.matches($0, value) }
        case .stringNotLike: return !c.values.contains { Wildcard.matches($0, value) }
        case .bool: return c.values.contains { $0.lowercased() == value }
        case .ipAddress, .notIpAddress:
            let inside = c.values.contains { IPRange($0)?.contains(value) == true }
            return inside != negated
        }
    }
}
