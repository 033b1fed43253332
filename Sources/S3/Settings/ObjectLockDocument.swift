import Cluster
import Core
import Storage

/// A bucket's object lock configuration (Get/PutObjectLockConfiguration): on for good once set, and
/// the default retention of new objects. Pure.
enum ObjectLockDocument: ParsedBucketDocument {
    static var setting: WritableKeyPath<BucketSettings, Stamped<ObjectLockConfiguration>?> { \.objectLock }
    static let missing: S3Error? = S3Error(
        "ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket")

    static func parse(_ body: [UInt8], bucket: BucketInfo) throws(S3Error) -> ObjectLockConfiguration {
        let xml = try XMLElement.document(body, root: "ObjectLockConfiguration")
        guard xml.child("ObjectLockEnabled")?.value == "Enabled" else {
            throw .malformedXML("ObjectLockEnabled must be Enabled (object lock cannot be turned off)")
        }
        guard bucket.versioningEnabled else {
            throw S3Error(
                "InvalidBucketState", 409,
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
        }
        guard let rule = xml.child("Rule")?.child("DefaultRetention") else {
            return ObjectLockConfiguration(enabled: true)
        }
        guard let mode = rule.child("Mode").flatMap({ ObjectRetention.Mode(rawValue: $0.value) }) else {
            throw .malformedXML("DefaultRetention needs a Mode of GOVERNANCE or COMPLIANCE")
        }
        let days = rule.child("Days").map { Int($0.value) ?? 0 }
        let years = rule.child("Years").map { Int($0.value) ?? 0 }
        guard (days == nil) != (years == nil) else {
            throw .malformedXML("DefaultRetention needs exactly one of Days and Years")
        }
        guard (days ?? years ?? 0) > 0, (days ?? 0) <= 36_500, (years ?? 0) <= 100 else {
            throw .invalidArgument("Default retention period must be a positive integer value (at most 100 years)")
        }
        return ObjectLockConfiguration(
            enabled: true, defaultRetention: .init(mode: mode, days: days, years: years))
    }

    static func document(_ value: ObjectLockConfiguration?) -> String {
        var w = XMLWriter()
        w.open("ObjectLockConfiguration", namespace: true)
        if value?.enabled == true { w.element("ObjectLockEnabled", "Enabled") }
        if let rule = value?.defaultRetention {
            w.open("Rule")
            w.open("DefaultRetention")
            w.element("Mode", rule.mode.rawValue)
            if let days = rule.days { w.element("Days", String(days)) }
            if let years = rule.years { w.element("Years", String(years)) }
            w.close("DefaultRetention")
            w.close("Rule")
        }
        w.close("ObjectLockConfiguration")
        return w.document
    }
}
