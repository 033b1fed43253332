import Storage
import Testing

@testable import Cluster

@Suite("lifecycle plan")
struct LifecyclePlanTests {
    static let day: Int64 = 1000

    static func version(
        _ id: String, at time: Int64, marker: Bool = false, size: Int64 = 5, tags: [String: String] = [:]
    )
        -> ObjectVersion
    {
        var v = ObjectVersion(versionID: id, modTime: time, size: size, etag: "e", isDeleteMarker: marker)
        v.tags = tags
        return v
    }

    @Test("the current version expires after its days or on the date, if the filter selects it")
    func expiration() {
        var rule = LifecycleRule(id: "r", prefix: "logs/")
        rule.expirationDays = 2
        rule.tags = ["kind": "log"]
        rule.sizeLessThan = 100
        let v = LifecyclePlanTests.version("a", at: 0, tags: ["kind": "log"])
        let plan = { (key: String, version: ObjectVersion, now: Int64) in
            LifecyclePlan.actions(key: key, versions: [version], rules: [rule], now: now, day: LifecyclePlanTests.day)
        }
        #expect(plan("logs/x", v, 1999) == [])
        #expect(plan("logs/x", v, 2000) == [.expire(key: "logs/x")])
        #expect(plan("data/x", v, 5000) == [])
        #expect(plan("logs/x", LifecyclePlanTests.version("a", at: 0), 5000) == [])
        #expect(plan("logs/x", LifecyclePlanTests.version("a", at: 0, size: 100, tags: ["kind": "log"]), 5000) == [])
        rule.enabled = false
        #expect(plan("logs/x", v, 5000) == [])
        var dated = LifecycleRule(id: "d")
        dated.expirationDate = 7000
        #expect(LifecyclePlan.actions(key: "k", versions: [v], rules: [dated], now: 6999).isEmpty)
        #expect(LifecyclePlan.actions(key: "k", versions: [v], rules: [dated], now: 7000) == [.expire(key: "k")])
    }

    @Test("noncurrent versions go after their days, counted from when they were replaced, keeping the newest n")
    func noncurrent() {
        var rule = LifecycleRule(id: "n")
        rule.noncurrentDays = 1
        rule.newerNoncurrentVersions = 1
        let v = LifecyclePlanTests.version
        // Newest first: v4 current; v3 replaced at 4000, v2 at 3000, v1 at 2000.
        let versions = [
            v("v4", 4000, false, 5, [:]), v("v3", 3000, false, 5, [:]), v("v2", 2000, false, 5, [:]),
            v("v1", 1000, false, 5, [:]),
        ]
        let at = { (now: Int64) in
            LifecyclePlan.actions(key: "k", versions: versions, rules: [rule], now: now, day: LifecyclePlanTests.day)
        }
        #expect(at(3999) == [.remove(key: "k", versionID: "v1", why: .noncurrent)])
        #expect(
            at(4000) == [
                .remove(key: "k", versionID: "v2", why: .noncurrent),
                .remove(key: "k", versionID: "v1", why: .noncurrent),
            ])
        #expect(at(100_000).count == 2)
    }

    @Test("a delete marker with nothing under it is removed only by ExpiredObjectDeleteMarker")
    func markers() {
        var rule = LifecycleRule(id: "m")
        rule.expirationDays = 1
        let marker = LifecyclePlanTests.version("dm", at: 0, marker: true)
        #expect(LifecyclePlan.actions(key: "k", versions: [marker], rules: [rule], now: 1 << 40).isEmpty)
        rule.expiredDeleteMarkers = true
        #expect(
            LifecyclePlan.actions(key: "k", versions: [marker], rules: [rule], now: 0) == [
                .remove(key: "k", versionID: "dm", why: .expiredDeleteMarker)
            ])
        let under = LifecyclePlanTests.version("v", at: 0)
        #expect(LifecyclePlan.actions(key: "k", versions: [marker, under], rules: [rule], now: 0).isEmpty)
    }

    @Test("incomplete uploads are aborted after their days, by prefix")
    func uploads() {
        var rule = LifecycleRule(id: "u", prefix: "tmp/")
        rule.abortIncompleteUploadDays = 2
        #expect(LifecyclePlan.aborts(key: "tmp/a", initiated: 0, rules: [rule], now: 2000, day: 1000))
        #expect(!LifecyclePlan.aborts(key: "tmp/a", initiated: 0, rules: [rule], now: 1999, day: 1000))
        #expect(!LifecyclePlan.aborts(key: "keep/a", initiated: 0, rules: [rule], now: 1 << 40, day: 1000))
    }
}
