import Storage

/// A bucket's tags (Put/Get/DeleteBucketTagging), checked as object tags are but up to 50. Pure.
enum BucketTagging: ParsedBucketDocument {
    static var setting: WritableKeyPath<BucketSettings, Stamped<[String: String]>?> { \.tags }
    static let missing: S3Error? = S3Error("NoSuchTagSet", 404, "The TagSet does not exist")
    static var putStatus: Int { 204 }
    static let tagsMax = 50

    static func parse(_ body: [UInt8], bucket: BucketInfo) throws(S3Error) -> [String: String] {
        let xml = try XMLElement.document(body, root: "Tagging")
        do throws(Tagging.Invalid) {
            return try Tagging.parse(xml, max: tagsMax, of: "Bucket")
        } catch {
            throw .invalidTag(error.description)
        }
    }

    static func document(_ tags: [String: String]?) -> String { Tagging.document(tags ?? [:]) }
}
