import Cluster
import Core
import HTTP
import Storage

/// Object lock on versions: retention and legal hold, set when written (headers) or later
/// (Put/GetObjectRetention, Put/GetObjectLegalHold), and shown on GET and HEAD.
extension S3Exchange {
    /// Whether the request asks to bypass GOVERNANCE retention (only the owner may).
    var bypassesGovernance: Bool {
        auth.anonymous == nil && request.head.headers["x-amz-bypass-governance-retention"]?.lowercased() == "true"
    }

    /// The retention and legal hold headers of a write (`x-amz-object-lock-*`), into `options`; false
    /// after answering with an error.
    func readObjectLock(_ headers: HTTPHeaders, into options: inout PutOptions) -> Bool {
        let mode = headers["x-amz-object-lock-mode"]
        let until = headers["x-amz-object-lock-retain-until-date"]
        do throws(S3Error) {
            if mode != nil || until != nil {
                options.retention = try S3Exchange.retention(mode: mode, until: until)
            }
            if let hold = headers["x-amz-object-lock-legal-hold"] {
                options.legalHold = try S3Exchange.legalHold(hold)
            }
            return true
        } catch {
            fail(error)
            return false
        }
    }

    static func retention(mode: String?, until: String?) throws(S3Error) -> ObjectRetention {
        guard let mode, let until else {
            throw .invalidArgument(
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
        }
        guard let m = ObjectRetention.Mode(rawValue: mode) else {
            throw .invalidArgument("Unknown wormMode directive: \(mode) (GOVERNANCE or COMPLIANCE)")
        }
        guard let date = WallTime(httpDate: until) else {
            throw .invalidArgument("The retain until date is not a valid date: \(until)")
        }
        guard date > .now() else { throw .invalidArgument("The retain until date must be in the future!") }
        return ObjectRetention(mode: m, until: date.millisecondsSinceEpoch)
    }

    static func legalHold(_ status: String) throws(S3Error) -> Bool {
        switch status {
        case "ON": return true
        case "OFF": return false
        default: throw .invalidArgument("Legal hold status is ON or OFF, not '\(status)'")
        }
    }

    /// The object lock headers of GET and HEAD.
    static func objectLockHeaders(_ v: ObjectVersion, into headers: inout HTTPHeaders) {
        if let r = v.retention {
            headers.add("x-amz-object-lock-mode", r.mode.rawValue)
            headers.add("x-amz-object-lock-retain-until-date", isoTime(r.until))
        }
        if v.legalHold { headers.add("x-amz-object-lock-legal-hold", "ON") }
    }

    func putObjectRetention() {
        readLockDocument(root: "Retention") { [self] xml throws(S3Error) in
            let mode = xml.child("Mode")?.value
            let until = xml.child("RetainUntilDate")?.value
            // No Mode and no date: the retention is removed (GOVERNANCE only, and only bypassing it).
            let retention = mode == nil && until == nil ? nil : try S3Exchange.retention(mode: mode, until: until)
            let bypass = bypassesGovernance
            return { version, now throws(ObjectError) in
                if let refusal = ObjectLockRules.retentionChange(
                    from: version.retention, to: retention, now: now, bypassGovernance: bypass)
                {
                    throw refusal
                }
                var a = version.attributes
                a.retention = retention
                return a
            }
        }
    }

    func putObjectLegalHold() {
        readLockDocument(root: "LegalHold") { xml throws(S3Error) in
            let hold = try S3Exchange.legalHold(xml.child("Status")?.value ?? "")
            return { version, _ in
                var a = version.attributes
                a.legalHold = hold
                return a
            }
        }
    }

    func getObjectRetention() {
        lockedVersion { [self] version in
            guard let r = version.retention else {
                return fail(
                    S3Error(
                        "NoSuchObjectLockConfiguration", 404,
                        "The specified object does not have a ObjectLock configuration"))
            }
            var w = XMLWriter()
            w.open("Retention", namespace: true)
            w.element("Mode", r.mode.rawValue)
            w.element("RetainUntilDate", S3Exchange.isoTime(r.until))
            w.close("Retention")
            sendXML(w.document, headers: versionHeader(version))
        }
    }

    func getObjectLegalHold() {
        lockedVersion { [self] version in
            var w = XMLWriter()
            w.open("LegalHold", namespace: true)
            w.element("Status", version.legalHold ? "ON" : "OFF")
            w.close("LegalHold")
            sendXML(w.document, headers: versionHeader(version))
        }
    }

    /// The version a lock request is about, in a bucket with object lock on.
    private func lockedVersion(_ then: @escaping (ObjectVersion) -> Void) {
        requireObjectLock { [self] in
            layer.headObject(bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"]) { [self] result in
                switch result {
                case .failure(let e): fail(e)
                case .success(let object) where object.version.isDeleteMarker:
                    fail(S3Error.from(.noSuchKey(bucket: s3.bucket, key: s3.key)))
                case .success(let object): then(object.version)
                }
            }
        }
    }

    private func requireObjectLock(_ then: @escaping () -> Void) {
        layer.requireBucket(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let info) where info.settings.objectLock?.value?.enabled != true:
                fail(S3Error.invalidRequest("Bucket is missing Object Lock Configuration"))
            case .success: then()
            }
        }
    }

    /// Reads a retention or legal hold document and changes the version's attributes as `change` makes
    /// of it, under the version's write lock.
    private func readLockDocument(
        root: String,
        _ change:
            @escaping (XMLElement) throws(S3Error) -> (ObjectVersion, WallTime) throws(ObjectError) ->
            VersionAttributes
    ) {
        requireObjectLock { [self] in
            readXMLBody { [self] bytes in
                let apply: (ObjectVersion, WallTime) throws(ObjectError) -> VersionAttributes
                do throws(S3Error) {
                    apply = try change(try XMLElement.document(bytes, root: root))
                } catch {
                    return fail(error)
                }
                let (bucket, key) = (s3.bucket, s3.key)
                layer.changeAttributes(bucket: bucket, key: key, versionID: s3.query["versionId"]) { version in
                    guard !version.isDeleteMarker else { return .failure(.noSuchKey(bucket: bucket, key: key)) }
                    do throws(ObjectError) {
                        return .success(try apply(version, .now()))
                    } catch {
                        return .failure(error)
                    }
                } _: { [self] result in
                    switch result {
                    case .failure(let e): fail(e)
                    case .success(let version): response.send(status: 200, headers: versionHeader(version))
                    }
                }
            }
        }
    }
}
