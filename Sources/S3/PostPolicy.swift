import Core

/// The policy of a browser form upload (S3's POST Object): when it expires and the conditions every
/// form field must meet, and the signature over it (SigV4's form, or SigV2's `AWSAccessKeyId` and
/// `signature` that older SDKs and form libraries still send). Pure.
struct PostPolicy: Equatable {
    enum Condition: Equatable {
        /// `{"acl": "private"}` or `["eq", "$acl", "private"]`.
        case equals(field: String, value: String)
        /// `["starts-with", "$key", "uploads/"]` (an empty prefix allows any value).
        case startsWith(field: String, prefix: String)
        /// `["content-length-range", 1, 10485760]`: the file's size in bytes.
        case contentLength(ClosedRange<Int64>)
    }

    var expiration: WallTime
    var conditions: [Condition]

    /// Form fields no condition need name.
    static let exempt: Set<String> = ["x-amz-signature", "file", "policy", "signature", "awsaccesskeyid"]

    static func invalid(_ why: String) -> S3Error { S3Error("InvalidPolicyDocument", 400, "Invalid Policy: \(why)") }
    static func refused(_ why: String) -> S3Error { .accessDenied("Invalid according to Policy: \(why)") }

    /// The policy from the form's base64 `policy` field.
    init(base64 text: String) throws(S3Error) {
        guard let bytes = Base64.decode(text) else { throw PostPolicy.invalid("the policy is not base64") }
        let json: JSONValue
        do throws(JSONValue.ParseError) {
            json = try JSONValue.parse(bytes)
        } catch {
            throw PostPolicy.invalid("Invalid JSON (\(error))")
        }
        guard let text = json["expiration"]?.stringValue else {
            throw PostPolicy.invalid("Policy missing expiration.")
        }
        guard let expiration = WallTime(iso8601: text) else {
            throw PostPolicy.invalid("Invalid 'expiration' value: '\(text)'")
        }
        guard case .array(let list) = json["conditions"] else {
            throw PostPolicy.invalid("Policy missing conditions.")
        }
        self.expiration = expiration
        conditions = try list.map { (c) throws(S3Error) in try PostPolicy.condition(c) }
    }

    static func condition(_ json: JSONValue) throws(S3Error) -> Condition {
        switch json {
        case .object(let fields) where fields.count == 1:
            guard let value = fields[0].1.stringValue else {
                throw invalid("Condition value of \(fields[0].0) must be a string")
            }
            return .equals(field: fields[0].0.lowercased(), value: value)
        case .array(let items) where items.count == 3:
            let op = items[0].stringValue?.lowercased()
            if op == "content-length-range" {
                guard let low = items[1].intValue ?? items[1].stringValue.flatMap({ Int64($0) }),
                    let high = items[2].intValue ?? items[2].stringValue.flatMap({ Int64($0) }), low >= 0, low <= high
                else { throw invalid("Invalid content-length-range: \(json.text)") }
                return .contentLength(low...high)
            }
            guard let field = items[1].stringValue, field.hasPrefix("$"), let value = items[2].stringValue else {
                throw invalid("Invalid condition: \(json.text)")
            }
            let name = String(field.dropFirst()).lowercased()
            switch op {
            case "eq": return .equals(field: name, value: value)
            case "starts-with": return .startsWith(field: name, prefix: value)
            default: throw invalid("Unknown condition operator in \(json.text)")
            }
        default: throw invalid("Invalid condition: \(json.text)")
        }
    }

    /// The file's size must lie in this range (nil: any size).
    var lengthRange: ClosedRange<Int64>? {
        for case .contentLength(let range) in conditions { return range }
        return nil
    }

    /// Checks the form's fields (names in lower case) against the policy at `now`: it must not have
    /// expired, every condition must hold, and every field must be named by one.
    func check(fields: [String: String], bucket: String, now: WallTime) throws(S3Error) {
        guard now < expiration else { throw PostPolicy.refused("Policy expired.") }
        var named: Set<String> = []
        for condition in conditions {
            switch condition {
            case .equals(let field, let value):
                named.insert(field)
                let actual = field == "bucket" ? bucket : fields[field]
                guard actual == value else {
                    throw PostPolicy.refused("Policy Condition failed: [\"eq\", \"$\(field)\", \"\(value)\"]")
                }
            case .startsWith(let field, let prefix):
                named.insert(field)
                let actual = field == "bucket" ? bucket : (fields[field] ?? "")
                // Content-Type may list several types, each of which must match.
                let values =
                    field == "content-type" ? actual.split(separator: ",").map { $0.trimmingCharacters() } : [actual]
                guard values.allSatisfy({ $0.hasPrefix(prefix) }) else {
                    throw PostPolicy.refused("Policy Condition failed: [\"starts-with\", \"$\(field)\", \"\(prefix)\"]")
                }
            case .contentLength: break
            }
        }
        let extra = fields.keys.filter {
            !named.contains($0) && !PostPolicy.exempt.contains($0) && !$0.hasPrefix("x-ignore-")
        }
        guard extra.isEmpty else {
            throw PostPolicy.refused("Extra input fields: \(extra.sorted().joined(separator: ", "))")
        }
    }

    /// Who signed the form: checks the SigV4 fields (`x-amz-credential`, `x-amz-signature`) or the
    /// SigV2 ones (`AWSAccessKeyId`, `signature`) over the base64 policy. Nil when the form is not
    /// signed at all (an anonymous upload).
    static func verifySignature(
        fields: [String: String], accessKey: String, secretKey: String, region: String
    ) throws(S3Error) -> Bool {
        guard let policy = fields["policy"] else {
            let signed = ["x-amz-signature", "signature", "x-amz-credential", "awsaccesskeyid"].contains {
                fields[$0] != nil
            }
            if signed { throw .invalidArgument("a signed form needs its policy field") }
            return false
        }
        if let signature = fields["x-amz-signature"] {
            guard fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256" else {
                throw .invalidArgument("x-amz-algorithm must be AWS4-HMAC-SHA256")
            }
            guard let credential = fields["x-amz-credential"], let scope = SigV4.Scope(credential) else {
                throw .invalidArgument("x-amz-credential is missing or malformed")
            }
            guard scope.accessKey == accessKey else { throw .invalidAccessKey() }
            guard scope.region == region else {
                throw .authorizationMalformed("the credential's region is \(scope.region); this server's is \(region)")
            }
            let key = SigV4.signingKey(secretKey: secretKey, scope: scope)
            let expected = Crypto.hmacSHA256(key: key, data: Array(policy.utf8)).hexString
            guard Crypto.constantTimeEqual(Array(expected.utf8), Array(signature.lowercased().utf8)) else {
                throw formSignatureMismatch
            }
            return true
        }
        guard let signature = fields["signature"], let id = fields["awsaccesskeyid"] else {
            throw .invalidArgument(
                "a form with a policy needs x-amz-signature (SigV4) or AWSAccessKeyId and signature (SigV2)")
        }
        guard id == accessKey else { throw .invalidAccessKey() }
        let expected = Base64.encode(Crypto.hmacSHA1(key: Array(secretKey.utf8), data: Array(policy.utf8)))
        guard Crypto.constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) else { throw formSignatureMismatch }
        return true
    }

    static let formSignatureMismatch = S3Error.signatureMismatch(
        "The request signature we calculated does not match the signature you provided. Check your key and signing method."
    )
}
