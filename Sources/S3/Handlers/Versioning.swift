import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    func getBucketVersioning() {
        layer.bucketInfo(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let info):
                var w = XMLWriter()
                w.open("VersioningConfiguration", namespace: true)
                if let status = info.versioning { w.element("Status", status) }
                w.close("VersioningConfiguration")
                sendXML(w.document)
            }
        }
    }

    func putBucketVersioning() {
        readXMLBody { [self] bytes in
            let status: String
            do throws(XMLElement.Failure) {
                let xml = try XMLElement.parse(bytes)
                guard xml.name == "VersioningConfiguration", let s = xml.child("Status")?.value,
                    s == "Enabled" || s == "Suspended"
                else {
                    return fail(.malformedXML("expected a VersioningConfiguration with Status Enabled or Suspended"))
                }
                status = s
            } catch {
                return fail(.malformedXML("The XML you provided was not well-formed: \(error)"))
            }
            layer.requireBucket(s3.bucket) { [self] found in
                if case .success(let info) = found, info.settings.objectLock?.value?.enabled == true,
                    status != "Enabled"
                {
                    return fail(
                        S3Error(
                            "InvalidBucketState", 409,
                            "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
                        ))
                }
                layer.setVersioning(s3.bucket, status) { [self] result in
                    switch result {
                    case .failure(let e): fail(e)
                    case .success: response.send(status: 200)
                    }
                }
            }
        }
    }

    func listObjectVersions() {
        let q = s3.query
        guard let maxKeys = boundedCount("max-keys", S3Exchange.maxKeysMax) else { return }
        let prefix = q["prefix"] ?? ""
        let delimiter = q["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let keyMarker = q["key-marker"] ?? ""
        let versionIDMarker = q["version-id-marker"] ?? ""
        let urlEncoding = q["encoding-type"] == "url"
        layer.listVersions(
            bucket: s3.bucket, prefix: prefix, keyMarker: keyMarker, versionIDMarker: versionIDMarker,
            delimiter: delimiter, limit: maxKeys
        ) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let page):
                let encode = { (s: String) in urlEncoding ? URLEncoding.encode(s, keepSlash: true) : s }
                var w = XMLWriter()
                w.open("ListVersionsResult", namespace: true)
                w.element("Name", s3.bucket)
                w.element("Prefix", encode(prefix))
                w.element("KeyMarker", encode(keyMarker))
                w.element("VersionIdMarker", versionIDMarker)
                if page.isTruncated {
                    if let next = page.nextKeyMarker { w.element("NextKeyMarker", encode(next)) }
                    if let next = page.nextVersionIDMarker { w.element("NextVersionIdMarker", next) }
                }
                w.element("MaxKeys", String(maxKeys))
                if let delimiter { w.element("Delimiter", encode(delimiter)) }
                if urlEncoding { w.element("EncodingType", "url") }
                w.element("IsTruncated", page.isTruncated ? "true" : "false")
                for entry in page.entries {
                    let v = entry.version
                    w.open(v.isDeleteMarker ? "DeleteMarker" : "Version")
                    w.element("Key", encode(entry.key))
                    w.element("VersionId", v.versionID)
                    w.element("IsLatest", entry.isLatest ? "true" : "false")
                    w.element("LastModified", S3Exchange.isoTime(v.modTime))
                    if !v.isDeleteMarker {
                        w.element("ETag", "\"\(v.etag)\"")
                        w.element("Size", String(v.size))
                        w.element("StorageClass", "STANDARD")
                    }
                    writeOwner(&w, "Owner")
                    w.close(v.isDeleteMarker ? "DeleteMarker" : "Version")
                }
                w.commonPrefixes(page.prefixes, encode: encode)
                w.close("ListVersionsResult")
                sendXML(w.document)
            }
        }
    }
}
