import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    /// The attributes GetObjectAttributes can be asked for (`x-amz-object-attributes`).
    static let objectAttributes: Set<String> = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]

    /// GetObjectAttributes: what `x-amz-object-attributes` asks for of a version, without its bytes.
    func getObjectAttributes() {
        let asked = Set(
            (request.head.headers["x-amz-object-attributes"] ?? "").split(separator: ",").map {
                $0.trimmingCharacters()
            }
            .filter { !$0.isEmpty })
        guard !asked.isEmpty else {
            return fail(S3Error.invalidArgument("x-amz-object-attributes names the attributes to get"))
        }
        if let bad = asked.first(where: { !S3Exchange.objectAttributes.contains($0) }) {
            return fail(
                S3Error.invalidArgument(
                    "Invalid attribute name specified: \(bad) (\(S3Exchange.objectAttributes.sorted().joined(separator: ", ")))"
                ))
        }
        let headers = request.head.headers
        let maxParts = headers["x-amz-max-parts"].map { Int($0) ?? -1 } ?? 1000
        let marker = headers["x-amz-part-number-marker"].map { Int($0) ?? -1 } ?? 0
        guard (0...1000).contains(maxParts), marker >= 0 else {
            return fail(S3Error.invalidArgument("x-amz-max-parts is 0 to 1000 and x-amz-part-number-marker at least 0"))
        }
        layer.headObject(bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"]) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let object) where object.version.isDeleteMarker: failOnDeleteMarker(object.version)
            case .success(let object):
                let v = object.version
                var w = XMLWriter()
                w.open("GetObjectAttributesResponse", namespace: true)
                if asked.contains("ETag") { w.element("ETag", v.etag) }
                if asked.contains("Checksum"), !v.checksums.isEmpty {
                    w.open("Checksum")
                    S3Exchange.writeChecksums(v.checksums, &w)
                    w.close("Checksum")
                }
                if asked.contains("ObjectParts"), let parts = v.parts {
                    w.open("ObjectParts")
                    w.element("PartsCount", String(parts.count))
                    let page = Self.writePartPage(parts.map(\.number), marker: marker, maxParts: maxParts, &w)
                    for part in parts where page.contains(part.number) {
                        w.open("Part")
                        w.element("PartNumber", String(part.number))
                        w.element("Size", String(part.size))
                        S3Exchange.writeChecksums(part.checksums ?? [:], &w, withType: false)
                        w.close("Part")
                    }
                    w.close("ObjectParts")
                }
                if asked.contains("StorageClass") { w.element("StorageClass", "STANDARD") }
                if asked.contains("ObjectSize") { w.element("ObjectSize", String(v.size)) }
                w.close("GetObjectAttributesResponse")
                var out = versionHeader(v)
                out.add("Last-Modified", WallTime(millisecondsSinceEpoch: v.modTime).httpDate)
                sendXML(w.document, headers: out)
            }
        }
    }

    /// `<ChecksumCRC32>...</ChecksumCRC32>` elements, and `<ChecksumType>` (COMPOSITE for a checksum of
    /// part checksums, `...-N`).
    static func writeChecksums(_ checksums: [String: String], _ w: inout XMLWriter, withType: Bool = true) {
        for (name, value) in checksums.sorted(by: { $0.key < $1.key }) { w.element("Checksum\(name)", value) }
        if withType, let type = checksumType(checksums) { w.element("ChecksumType", type.rawValue) }
    }

    /// COMPOSITE when the checksums are of the parts' checksums (`value-N`), FULL_OBJECT when of the bytes.
    static func checksumType(_ checksums: [String: String]) -> ChecksumType? {
        guard let any = checksums.values.first else { return nil }
        return any.contains("-") ? .composite : .fullObject
    }
}
