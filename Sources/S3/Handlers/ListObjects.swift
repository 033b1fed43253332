import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    static let maxKeysMax = 1000

    /// ListObjects (v1) and ListObjectsV2.
    func listObjects(v2: Bool) {
        let q = s3.query
        var maxKeys = S3Exchange.maxKeysMax
        if let text = q["max-keys"] {
            guard let n = Int(text), n >= 0 else { return fail(.invalidArgument("max-keys must be a number from 0")) }
            maxKeys = min(n, S3Exchange.maxKeysMax)
        }
        let prefix = q["prefix"] ?? ""
        let delimiter = q["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let urlEncoding = q["encoding-type"] == "url"
        if let encoding = q["encoding-type"], encoding != "url" {
            return fail(.invalidArgument("encoding-type must be 'url'"))
        }
        var marker = ""
        if v2 {
            if let token = q["continuation-token"] {
                guard let bytes = Base64.decode(token), let text = String(validating: bytes, as: UTF8.self) else {
                    return fail(.invalidArgument("The continuation token provided is incorrect"))
                }
                marker = text
            } else {
                marker = q["start-after"] ?? ""
            }
        } else {
            marker = q["marker"] ?? ""
        }
        let finish = { [self] (page: ListPage) in
            let encode = { (s: String) in urlEncoding ? URLEncoding.encode(s, keepSlash: true) : s }
            var w = XMLWriter()
            w.open("ListBucketResult", namespace: true)
            w.element("Name", s3.bucket)
            w.element("Prefix", encode(prefix))
            if v2 {
                if let token = q["continuation-token"] { w.element("ContinuationToken", token) }
                if let after = q["start-after"] { w.element("StartAfter", encode(after)) }
                w.element("KeyCount", String(page.entries.count + page.prefixes.count))
            } else {
                w.element("Marker", encode(marker))
            }
            w.element("MaxKeys", String(maxKeys))
            if let delimiter { w.element("Delimiter", encode(delimiter)) }
            if urlEncoding { w.element("EncodingType", "url") }
            w.element("IsTruncated", page.isTruncated ? "true" : "false")
            if page.isTruncated, let next = page.nextMarker {
                if v2 {
                    w.element("NextContinuationToken", Base64.encode(Array(next.utf8)))
                } else if delimiter != nil {
                    w.element("NextMarker", encode(next))
                }
            }
            let owner = !v2 || q["fetch-owner"] == "true"
            for entry in page.entries {
                w.open("Contents")
                w.element("Key", encode(entry.key))
                w.element("LastModified", S3Exchange.isoTime(entry.version.modTime))
                w.element("ETag", "\"\(entry.version.etag)\"")
                w.element("Size", String(entry.version.size))
                if owner {
                    w.open("Owner")
                    w.element("ID", api.ownerID)
                    w.element("DisplayName", "minio")
                    w.close("Owner")
                }
                w.element("StorageClass", "STANDARD")
                w.close("Contents")
            }
            w.commonPrefixes(page.prefixes, encode: encode)
            w.close("ListBucketResult")
            sendXML(w.document)
        }
        guard maxKeys > 0 else {
            // Nothing asked for: still check that the bucket exists.
            return layer.bucketInfo(s3.bucket) { [self] r in
                if case .failure(let e) = r { return fail(e) }
                finish(ListPage())
            }
        }
        layer.list(bucket: s3.bucket, prefix: prefix, marker: marker, delimiter: delimiter, limit: maxKeys) {
            [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let page): finish(page)
            }
        }
    }
}
