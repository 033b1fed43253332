import HTTP

/// S3 object tags: parsed from a Tagging document or an `x-amz-tagging` header, checked against S3's
/// limits, and written back. Pure.
public enum Tagging {
    /// S3's limits on one object's tags.
    public static let tagsMax = 10
    public static let keyCharactersMax = 128
    public static let valueCharactersMax = 256

    /// Why a tag set is refused: S3's `InvalidTag` (400), with what is wrong.
    public struct Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Checks a tag set: at most 10 tags, keys of 1 to 128 characters and values of up to 256, each of
    /// letters, digits, spaces and `+ - = . _ : / @`, and no key twice.
    public static func validate(
        _ tags: [(key: String, value: String)], max: Int = tagsMax, of what: String = "Object"
    ) throws(Invalid) -> [String: String] {
        guard tags.count <= max else {
            throw Invalid(description: "\(what) tags cannot be greater than \(max)")
        }
        var out: [String: String] = [:]
        for (key, value) in tags {
            guard (1...keyCharactersMax).contains(key.count), allowed(key) else {
                throw Invalid(description: "The TagKey you have provided is invalid")
            }
            guard value.count <= valueCharactersMax, allowed(value) else {
                throw Invalid(description: "The TagValue you have provided is invalid")
            }
            guard out[key] == nil else {
                throw Invalid(description: "Cannot provide multiple Tags with the same key")
            }
            out[key] = value
        }
        return out
    }

    static func allowed(_ s: String) -> Bool {
        s.unicodeScalars.allSatisfy { c in
            c.properties.isAlphabetic || c.properties.numericType != nil || c == " "
                || "+-=._:/@".unicodeScalars.contains(c)
        }
    }

    /// `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...</TagSet></Tagging>`.
    public static func parse(
        _ xml: XMLElement, max: Int = tagsMax, of what: String = "Object"
    ) throws(Invalid) -> [String: String] {
        guard xml.name == "Tagging", let set = xml.child("TagSet") else {
            throw Invalid(description: "expected a Tagging document with a TagSet")
        }
        var tags: [(key: String, value: String)] = []
        for tag in set.all("Tag") {
            guard let key = tag.child("Key")?.text else { throw Invalid(description: "every Tag needs a Key") }
            tags.append((key, tag.child("Value")?.text ?? ""))
        }
        return try validate(tags, max: max, of: what)
    }

    /// The `x-amz-tagging` header of a PUT or copy: a URL query string, `k1=v1&k2=v2`.
    public static func parse(header: String) throws(Invalid) -> [String: String] {
        guard !header.isEmpty else { return [:] }
        guard let query = QueryParameters(parsing: header[...]) else {
            throw Invalid(description: "x-amz-tagging is not a valid URL query string")
        }
        return try validate(query.pairs.map { ($0.name, $0.value) })
    }

    /// The Tagging document of a tag set, keys in order.
    public static func document(_ tags: [String: String]) -> String {
        var w = XMLWriter()
        w.open("Tagging", namespace: true)
        w.open("TagSet")
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            w.open("Tag")
            w.element("Key", key)
            w.element("Value", value)
            w.close("Tag")
        }
        w.close("TagSet")
        w.close("Tagging")
        return w.document
    }
}
