import Cluster
import Core
import HTTP

extension S3Exchange {
    /// Keys in one DeleteObjects request, at most (S3's limit).
    static let deleteKeysMax = 1000
    /// Deletes of one request running at once.
    static let deletesInFlightMax = 16

    /// DeleteObjects (`POST /bucket?delete`): up to 1000 keys, each deleted on its own; the result
    /// lists each key deleted (unless Quiet) and each that failed, with its error.
    func deleteObjects() {
        readXMLBody { [self] bytes in
            if let md5 = request.head.headers["Content-MD5"], Base64.decode(md5) != Crypto.md5(bytes) {
                return fail(S3Error.badDigest("The Content-MD5 you specified did not match what we received."))
            }
            let quiet: Bool
            let keys: [(key: String, versionID: String?)]
            do throws(S3Error) {
                (quiet, keys) = try S3Exchange.deleteRequest(bytes)
            } catch {
                return fail(error)
            }
            var results: [(key: String, versionID: String?, outcome: ObjectLayer.DeleteOutcome?, error: S3Error?)?] =
                Array(repeating: nil, count: keys.count)
            var next = 0
            // A delete refused at once answers inside `launch`: the last key can reach `respond` twice.
            var answered = false
            var running = 0
            func launch() {
                while running < S3Exchange.deletesInFlightMax && next < keys.count {
                    let i = next
                    next += 1
                    running += 1
                    let item = keys[i]
                    if let versionID = item.versionID, let refusal = Self.refusal(ofVersionID: versionID) {
                        results[i] = (item.key, item.versionID, nil, refusal)
                        running -= 1
                        continue
                    }
                    let action = item.versionID == nil ? "s3:DeleteObject" : "s3:DeleteObjectVersion"
                    guard auth.allows(action, on: S3Request.arn(bucket: s3.bucket, key: item.key)) else {
                        results[i] = (item.key, item.versionID, nil, S3Error.accessDenied("Access Denied"))
                        running -= 1
                        continue
                    }
                    layer.deleteObject(
                        bucket: s3.bucket, key: item.key, versionID: item.versionID,
                        bypassGovernance: bypassesGovernance
                    ) { [self] result in
                        switch result {
                        case .success(let outcome):
                            results[i] = (item.key, item.versionID, outcome, nil)
                            notify(
                                Self.removalEvent(outcome, versionID: item.versionID), bucket: s3.bucket,
                                key: item.key, versionID: outcome.versionID)
                        case .failure(let e): results[i] = (item.key, item.versionID, nil, S3Error.from(e))
                        }
                        running -= 1
                        if running == 0 && next == keys.count { respond() } else { launch() }
                    }
                }
                // Every key left was refused without a delete to wait for.
                if running == 0 && next == keys.count { respond() }
            }
            func respond() {
                guard !answered else { return }
                answered = true
                var w = XMLWriter()
                w.open("DeleteResult", namespace: true)
                for case let (key, versionID, outcome, error)? in results {
                    if let error {
                        w.open("Error")
                        w.element("Key", key)
                        if let versionID { w.element("VersionId", versionID) }
                        w.element("Code", error.code)
                        w.element("Message", error.message)
                        w.close("Error")
                    } else if !quiet {
                        w.open("Deleted")
                        w.element("Key", key)
                        if let versionID { w.element("VersionId", versionID) }
                        if let outcome, outcome.isDeleteMarker {
                            w.element("DeleteMarker", "true")
                            if let marker = outcome.versionID { w.element("DeleteMarkerVersionId", marker) }
                        }
                        w.close("Deleted")
                    }
                }
                w.close("DeleteResult")
                sendXML(w.document)
            }
            launch()
        }
    }

    /// The Quiet flag and the keys of a Delete document.
    static func deleteRequest(_ bytes: [UInt8]) throws(S3Error) -> (Bool, [(key: String, versionID: String?)]) {
        let xml: XMLElement
        do throws(XMLElement.Failure) {
            xml = try XMLElement.parse(bytes)
        } catch {
            throw .malformedXML("The XML you provided was not well-formed: \(error)")
        }
        guard xml.name == "Delete" else { throw .malformedXML("expected Delete") }
        let keys = try xml.all("Object").map { o throws(S3Error) -> (key: String, versionID: String?) in
            guard let key = o.child("Key")?.text, !key.isEmpty else { throw .malformedXML("every Object needs a Key") }
            return (key, o.child("VersionId")?.value)
        }
        guard !keys.isEmpty, keys.count <= deleteKeysMax else {
            throw .malformedXML("a Delete names 1 to \(deleteKeysMax) objects")
        }
        return (xml.child("Quiet")?.value.lowercased() == "true", keys)
    }
}
