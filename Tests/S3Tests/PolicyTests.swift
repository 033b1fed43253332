import Storage
import Testing

@testable import S3

@Suite("bucket policies")
struct PolicyTests {
    static let bucket = BucketInfo(name: "photos", created: 0)

    static func parse(_ text: String) throws -> BucketPolicy {
        try Policy.parse(Array(text.utf8), bucket: bucket)
    }

    @Test("an explicit Deny wins over an Allow; nothing allowed is denied")
    func denyWins() throws {
        let p = try PolicyTests.parse(
            """
            {"Version":"2012-10-17","Statement":[
             {"Effect":"Allow","Principal":"*","Action":"s3:Get*","Resource":"arn:aws:s3:::photos/*"},
             {"Effect":"Deny","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":"arn:aws:s3:::photos/private/*"}]}
            """)
        let allows = { (action: String, key: String) in
            Policy.allows(p, action: action, resource: "arn:aws:s3:::photos/" + key, context: [:])
        }
        #expect(allows("s3:GetObject", "cat.jpg"))
        #expect(allows("s3:GetObjectTagging", "cat.jpg"))
        #expect(!allows("s3:GetObject", "private/cat.jpg"))
        #expect(!allows("s3:PutObject", "cat.jpg"))
        #expect(!Policy.allows(nil, action: "s3:GetObject", resource: "arn:aws:s3:::photos/cat.jpg", context: [:]))
    }

    @Test("conditions: prefixes by pattern, source addresses by range, missing keys fail all but negations")
    func conditions() throws {
        let p = try PolicyTests.parse(
            """
            {"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos",
             "Condition":{"StringLike":{"s3:prefix":"thumbs/*"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]}}}}
            """)
        let list = { (context: Policy.Context) in
            Policy.allows(p, action: "s3:ListBucket", resource: "arn:aws:s3:::photos", context: context)
        }
        #expect(list(["s3:prefix": "thumbs/2026/", "aws:SourceIp": "10.1.2.3"]))
        #expect(list(["s3:prefix": "thumbs/", "aws:SourceIp": "::1"]))
        #expect(!list(["s3:prefix": "raw/", "aws:SourceIp": "10.1.2.3"]))
        #expect(!list(["s3:prefix": "thumbs/", "aws:SourceIp": "192.168.0.1"]))
        #expect(!list(["aws:SourceIp": "10.1.2.3"]))
        let negated = PolicyCondition(op: .stringNotEquals, key: "aws:Referer", values: ["evil"])
        #expect(Policy.holds(negated, [:]) && !Policy.holds(negated, ["aws:Referer": "evil"]))
    }

    @Test("IP ranges: v4 and v6 prefixes, v4-mapped addresses, junk refused")
    func ipRanges() {
        #expect(IPRange("192.168.1.0/24")?.contains("192.168.1.200") == true)
        #expect(IPRange("192.168.1.0/24")?.contains("192.168.2.1") == false)
        #expect(IPRange("0.0.0.0/0")?.contains("8.8.8.8") == true)
        #expect(IPRange("2001:db8::/32")?.contains("2001:db8:1::5") == true)
        #expect(IPRange("127.0.0.1")?.contains("::ffff:127.0.0.1") == true)
        #expect(IPRange("10.0.0.0/33") == nil && IPRange("ten") == nil)
    }

    @Test("the canned policies read back as themselves, and a prefix narrows listing and keys")
    func canned() throws {
        for access in CannedPolicy.Access.allCases {
            let p = try PolicyTests.parse(CannedPolicy.document(bucket: "photos", access: access))
            #expect(CannedPolicy.access(of: p, bucket: "photos") == access)
        }
        let thumbs = try PolicyTests.parse(
            CannedPolicy.document(bucket: "photos", prefix: "thumbs/", access: .download))
        #expect(CannedPolicy.access(of: thumbs, bucket: "photos") == nil)
        let get = { (key: String) in
            Policy.allows(thumbs, action: "s3:GetObject", resource: "arn:aws:s3:::photos/" + key, context: [:])
        }
        #expect(get("thumbs/a.jpg") && !get("raw/a.jpg"))
        #expect(
            !Policy.allows(
                thumbs, action: "s3:PutObject", resource: "arn:aws:s3:::photos/thumbs/a.jpg", context: [:]))
    }

    @Test("every operation that is not a preflight names an action a policy can allow")
    func everyOperationHasAnAction() {
        for op in S3Request.Operation.allCases where op != .preflight {
            #expect(S3Request.action(op, versioned: false).map { S3Request.actions.contains($0) } == true)
        }
    }
}
