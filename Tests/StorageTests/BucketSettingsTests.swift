import Core
import Testing

@testable import Storage

@Suite("bucket settings")
struct BucketSettingsTests {
    @Test("each setting merges to the copy changed last, in any order, and a removal is a change")
    func merge() {
        var a = BucketSettings()
        a.cors = Stamped([CORSRule(allowedOrigins: ["*"], allowedMethods: ["GET"])], changed: 10)
        a.tags = Stamped(["team": "web"], changed: 30)
        var b = BucketSettings()
        b.cors = Stamped(nil, changed: 20)
        b.tags = Stamped(["team": "data"], changed: 5)
        b.lifecycle = Stamped([LifecycleRule(id: "old")], changed: 1)
        let ab = a.merged(with: b)
        #expect(ab == b.merged(with: a))
        #expect(ab.cors == Stamped(nil, changed: 20))
        #expect(ab.tags?.value == ["team": "web"])
        #expect(ab.lifecycle?.value?.first?.id == "old")
        #expect(ab.lastChanged == 30)
        #expect(ab.merged(with: ab) == ab)
    }

    @Test("a bucket record written before settings existed reads with none, and settings persist")
    func oldRecord() throws {
        try withDisk { disk in
            try disk.makeBucket("photos", created: 5)
            // The record as nodes before settings wrote it.
            let old = #"{"name":"photos","created":5,"versioning":"Enabled"}"#
            try FileOps.writeSynced(disk.bucketRecord("photos"), Array(old.utf8))
            let info = try disk.bucketInfo("photos")
            #expect(info.versioning == "Enabled" && info.settings == BucketSettings())
            var change = BucketSettings()
            change.tags = Stamped(["a": "b"], changed: 7)
            try disk.changeSettings("photos", change)
            try disk.changeSettings("photos", BucketSettings())
            #expect(try disk.bucketInfo("photos").settings == change)
            #expect(try disk.bucketInfo("photos").versioning == "Enabled")
        }
    }
}
