import Core
import Storage
import Testing

@testable import Cluster

@Suite("object lock rules")
struct ObjectLockRulesTests {
    static let now = WallTime(millisecondsSinceEpoch: 1_000_000)

    static func version(_ mode: ObjectRetention.Mode?, until: Int64 = 2_000_000, hold: Bool = false) -> ObjectVersion {
        var v = ObjectVersion(versionID: "v", modTime: 1, size: 1, etag: "e")
        v.retention = mode.map { ObjectRetention(mode: $0, until: until) }
        v.legalHold = hold
        return v
    }

    @Test("a held or retained version stays; GOVERNANCE gives way to a bypass; past retention does not hold")
    func deletion() {
        let now = ObjectLockRulesTests.now
        func v(_ mode: ObjectRetention.Mode?, until: Int64 = 2_000_000, hold: Bool = false) -> ObjectVersion {
            ObjectLockRulesTests.version(mode, until: until, hold: hold)
        }
        #expect(ObjectLockRules.deletion(of: v(nil), now: now, bypassGovernance: false) == nil)
        #expect(ObjectLockRules.deletion(of: v(.governance), now: now, bypassGovernance: false) != nil)
        #expect(ObjectLockRules.deletion(of: v(.governance), now: now, bypassGovernance: true) == nil)
        #expect(ObjectLockRules.deletion(of: v(.compliance), now: now, bypassGovernance: true) != nil)
        #expect(ObjectLockRules.deletion(of: v(.compliance, until: 999_999), now: now, bypassGovernance: false) == nil)
        #expect(ObjectLockRules.deletion(of: v(nil, hold: true), now: now, bypassGovernance: true) != nil)
    }

    @Test("retention may lengthen; COMPLIANCE never shortens nor changes mode; GOVERNANCE only with a bypass")
    func changes() {
        let now = ObjectLockRulesTests.now
        func change(_ old: ObjectRetention?, _ new: ObjectRetention?, bypass: Bool = false) -> Bool {
            ObjectLockRules.retentionChange(from: old, to: new, now: now, bypassGovernance: bypass) == nil
        }
        let gov = ObjectRetention(mode: .governance, until: 2_000_000)
        let comp = ObjectRetention(mode: .compliance, until: 2_000_000)
        #expect(change(gov, ObjectRetention(mode: .governance, until: 3_000_000)))
        #expect(change(gov, ObjectRetention(mode: .compliance, until: 2_000_000)))
        #expect(!change(gov, ObjectRetention(mode: .governance, until: 1_500_000)))
        #expect(change(gov, nil, bypass: true))
        #expect(change(comp, ObjectRetention(mode: .compliance, until: 3_000_000)))
        #expect(!change(comp, ObjectRetention(mode: .governance, until: 3_000_000), bypass: true))
        #expect(!change(comp, nil, bypass: true))
        #expect(change(ObjectRetention(mode: .compliance, until: 500_000), nil))
    }

    @Test("a bucket's default retention fills in; lock settings on a bucket without lock are refused")
    func defaults() throws {
        var info = BucketInfo(name: "b", created: 0, versioning: "Enabled")
        var options = PutOptions()
        options.legalHold = true
        #expect(throws: ObjectError.self) {
            try ObjectLockRules.applying(options, bucket: info, now: ObjectLockRulesTests.now)
        }
        info.settings.objectLock = Stamped(
            ObjectLockConfiguration(enabled: true, defaultRetention: .init(mode: .compliance, years: 1)), changed: 1)
        let applied = try ObjectLockRules.applying(options, bucket: info, now: ObjectLockRulesTests.now)
        #expect(applied.retention == ObjectRetention(mode: .compliance, until: 1_000_000 + 365 * 86_400_000))
        #expect(applied.legalHold)
    }
}
