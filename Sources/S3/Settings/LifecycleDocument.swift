import Cluster
import Core
import Storage

/// A bucket's lifecycle configuration (Put/Get/DeleteBucketLifecycle): rules of expiration, noncurrent
/// version expiration, expired delete marker removal and aborting incomplete uploads, each with a
/// filter. Transitions to other storage classes are refused: there is one class here. Pure.
enum LifecycleDocument: ParsedBucketDocument {
    static var setting: WritableKeyPath<BucketSettings, Stamped<[LifecycleRule]>?> { \.lifecycle }
    static let missing: S3Error? = S3Error(
        "NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist")
    /// S3's limits.
    static let rulesMax = 1000
    static let idCharactersMax = 255

    static func parse(_ body: [UInt8], bucket: BucketInfo) throws(S3Error) -> [LifecycleRule] {
        let xml = try XMLElement.document(body, root: "LifecycleConfiguration")
        let rules = xml.all("Rule")
        guard !rules.isEmpty, rules.count <= rulesMax else {
            throw .malformedXML("a LifecycleConfiguration has 1 to \(rulesMax) rules")
        }
        var out: [LifecycleRule] = []
        var ids: Set<String> = []
        for element in rules {
            let rule = try parseRule(element)
            guard ids.insert(rule.id).inserted else {
                throw .invalidArgument("Rule ID must be unique. Found same ID for more than one rule: \(rule.id)")
            }
            out.append(rule)
        }
        return out
    }

    static func parseRule(_ xml: XMLElement) throws(S3Error) -> LifecycleRule {
        let id = xml.child("ID")?.value ?? Crypto.randomBytes(10).hexString
        guard id.count <= idCharactersMax else {
            throw .invalidArgument("ID length should not exceed allowed limit of \(idCharactersMax)")
        }
        for unsupported in ["Transition", "NoncurrentVersionTransition"] where xml.child(unsupported) != nil {
            throw .notImplemented(
                "\(unsupported) moves objects to another storage class; devcluster has one (STANDARD). Use Expiration to remove them."
            )
        }
        var rule = LifecycleRule(id: id)
        switch xml.child("Status")?.value {
        case "Enabled": rule.enabled = true
        case "Disabled": rule.enabled = false
        default: throw .malformedXML("every Rule needs a Status of Enabled or Disabled")
        }
        try readFilter(xml, into: &rule)
        if let e = xml.child("Expiration") {
            let days = e.child("Days")
            let date = e.child("Date")
            let marker = e.child("ExpiredObjectDeleteMarker")
            guard [days, date, marker].compactMap({ $0 }).count == 1 else {
                throw .malformedXML("an Expiration has exactly one of Days, Date and ExpiredObjectDeleteMarker")
            }
            if let days { rule.expirationDays = try positive(days.value, "'Days' for Expiration action") }
            if let date {
                guard let time = WallTime(iso8601: date.value) ?? WallTime(iso8601: date.value + "T00:00:00Z"),
                    time.millisecondsSinceEpoch % LifecyclePlan.dayMilliseconds == 0
                else { throw .invalidArgument("'Date' must be at midnight GMT (2027-01-01T00:00:00Z)") }
                rule.expirationDate = time.millisecondsSinceEpoch
            }
            if let marker {
                guard ["true", "false"].contains(marker.value) else {
                    throw .malformedXML("ExpiredObjectDeleteMarker is true or false")
                }
                rule.expiredDeleteMarkers = marker.value == "true"
            }
        }
        if let n = xml.child("NoncurrentVersionExpiration") {
            guard let days = n.child("NoncurrentDays") else {
                throw .malformedXML("a NoncurrentVersionExpiration needs NoncurrentDays")
            }
            rule.noncurrentDays = try positive(days.value, "'NoncurrentDays' for NoncurrentVersionExpiration action")
            if let newer = n.child("NewerNoncurrentVersions") {
                rule.newerNoncurrentVersions = try positive(newer.value, "NewerNoncurrentVersions")
            }
        }
        if let a = xml.child("AbortIncompleteMultipartUpload") {
            guard let days = a.child("DaysAfterInitiation") else {
                throw .malformedXML("an AbortIncompleteMultipartUpload needs DaysAfterInitiation")
            }
            guard rule.tags.isEmpty else {
                throw .invalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
            }
            rule.abortIncompleteUploadDays = try positive(days.value, "'DaysAfterInitiation'")
        }
        let acts =
            rule.expirationDays != nil || rule.expirationDate != nil || rule.expiredDeleteMarkers
            || rule.noncurrentDays != nil || rule.abortIncompleteUploadDays != nil
        guard acts || xml.child("Expiration") != nil else {
            throw .invalidRequest("At least one action needs to be specified in a rule (rule \(id))")
        }
        return rule
    }

    /// The rule's filter: `Filter` (Prefix, Tag, sizes, or an And of them) or the older `Prefix`.
    static func readFilter(_ xml: XMLElement, into rule: inout LifecycleRule) throws(S3Error) {
        if let prefix = xml.child("Prefix") {
            guard xml.child("Filter") == nil else { throw .malformedXML("a Rule has a Filter or a Prefix, not both") }
            rule.prefix = prefix.text
            return
        }
        guard let filter = xml.child("Filter") else { return }
        let parts = filter.child("And") ?? filter
        guard filter.child("And") == nil || filter.children.count == 1 else {
            throw .malformedXML("a Filter with And holds nothing else")
        }
        if filter.child("And") == nil && filter.children.count > 1 {
            throw .malformedXML("a Filter holds one condition; several go in an And")
        }
        rule.prefix = parts.child("Prefix")?.text ?? ""
        var tags: [(key: String, value: String)] = []
        for tag in parts.all("Tag") {
            guard let key = tag.child("Key")?.text else { throw .malformedXML("every Tag needs a Key") }
            tags.append((key, tag.child("Value")?.text ?? ""))
        }
        do throws(Tagging.Invalid) {
            rule.tags = try Tagging.validate(tags)
        } catch {
            throw .invalidTag(error.description)
        }
        if let g = parts.child("ObjectSizeGreaterThan") { rule.sizeGreaterThan = try size(g.value) }
        if let l = parts.child("ObjectSizeLessThan") { rule.sizeLessThan = try size(l.value) }
    }

    static func positive(_ text: String, _ what: String) throws(S3Error) -> Int {
        guard let n = Int(text), n > 0, n <= 100 * 365 else {
            throw .invalidArgument("\(what) must be a positive integer")
        }
        return n
    }

    static func size(_ text: String) throws(S3Error) -> Int64 {
        guard let n = Int64(text), n >= 0 else {
            throw .invalidArgument("an object size must be a whole number of bytes")
        }
        return n
    }

    static func document(_ rules: [LifecycleRule]?) -> String {
        var w = XMLWriter()
        w.open("LifecycleConfiguration", namespace: true)
        for rule in rules ?? [] {
            w.open("Rule")
            w.element("ID", rule.id)
            w.open("Filter")
            let conditions =
                (rule.prefix.isEmpty ? 0 : 1) + rule.tags.count + (rule.sizeGreaterThan == nil ? 0 : 1)
                + (rule.sizeLessThan == nil ? 0 : 1)
            if conditions > 1 { w.open("And") }
            if !rule.prefix.isEmpty || conditions == 0 { w.element("Prefix", rule.prefix) }
            for (key, value) in rule.tags.sorted(by: { $0.key < $1.key }) {
                w.open("Tag")
                w.element("Key", key)
                w.element("Value", value)
                w.close("Tag")
            }
            if let g = rule.sizeGreaterThan { w.element("ObjectSizeGreaterThan", String(g)) }
            if let l = rule.sizeLessThan { w.element("ObjectSizeLessThan", String(l)) }
            if conditions > 1 { w.close("And") }
            w.close("Filter")
            w.element("Status", rule.enabled ? "Enabled" : "Disabled")
            if rule.expirationDays != nil || rule.expirationDate != nil || rule.expiredDeleteMarkers {
                w.open("Expiration")
                if let days = rule.expirationDays { w.element("Days", String(days)) }
                if let date = rule.expirationDate { w.element("Date", S3Exchange.isoTime(date)) }
                if rule.expiredDeleteMarkers { w.element("ExpiredObjectDeleteMarker", "true") }
                w.close("Expiration")
            }
            if let days = rule.noncurrentDays {
                w.open("NoncurrentVersionExpiration")
                w.element("NoncurrentDays", String(days))
                if let newer = rule.newerNoncurrentVersions { w.element("NewerNoncurrentVersions", String(newer)) }
                w.close("NoncurrentVersionExpiration")
            }
            if let days = rule.abortIncompleteUploadDays {
                w.open("AbortIncompleteMultipartUpload")
                w.element("DaysAfterInitiation", String(days))
                w.close("AbortIncompleteMultipartUpload")
            }
            w.close("Rule")
        }
        w.close("LifecycleConfiguration")
        return w.document
    }
}
