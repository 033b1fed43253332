import Cluster
import HTTP
import Storage

/// ACLs as an owner-only server has them: the owner has FULL_CONTROL of everything; canned private
/// ACLs are accepted; a public canned ACL on a bucket is the matching anonymous policy; grants to
/// anyone else are refused, never ignored.
extension S3Exchange {
    static let allUsers = "http://acs.amazonaws.com/groups/global/AllUsers"

    func getBucketAcl() {
        layer.bucketInfo(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let info):
                let access = CannedPolicy.access(of: info.settings.policy?.value, bucket: s3.bucket)
                var publicGrants: [String] = []
                if access == .download || access == .public { publicGrants.append("READ") }
                if access == .public { publicGrants.append("WRITE") }
                sendXML(aclDocument(publicGrants: publicGrants))
            }
        }
    }

    func getObjectAcl() {
        layer.headObject(bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"]) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let object) where object.version.isDeleteMarker && s3.query["versionId"] == nil:
                fail(S3Error.from(.noSuchKey(bucket: s3.bucket, key: s3.key)))
            case .success(let object): sendXML(aclDocument(), headers: versionHeader(object.version))
            }
        }
    }

    /// PutBucketAcl: a canned ACL, or an AccessControlPolicy of the owner's FULL_CONTROL and perhaps
    /// READ (and WRITE) for everyone.
    func putBucketAcl() {
        readACL { [self] access in
            let bucket = s3.bucket
            changeBucketSetting(Policy.self, status: 200) { info throws(S3Error) in
                let current = info.settings.policy?.value
                // A policy of the owner's own is not replaced by an ACL.
                if current != nil && CannedPolicy.access(of: current, bucket: bucket) == nil {
                    guard access == nil else {
                        throw .invalidRequest(
                            "The bucket has a policy of its own: add the anonymous statements to it (PutBucketPolicy) rather than a public ACL."
                        )
                    }
                    return current
                }
                guard let access else { return nil }
                return try Policy.parse(Array(CannedPolicy.document(bucket: bucket, access: access).utf8), bucket: info)
            }
        }
    }

    /// PutObjectAcl: only the owner's ACL (the object must exist).
    func putObjectAcl() {
        readACL(objects: true) { [self] _ in
            layer.headObject(bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"]) { [self] result in
                switch result {
                case .failure(let e): fail(e)
                case .success(let object): response.send(status: 200, headers: versionHeader(object.version))
                }
            }
        }
    }

    /// The access an ACL request gives anonymous callers (x-amz-acl, or an AccessControlPolicy body);
    /// `objects`: public access is refused.
    private func readACL(objects: Bool = false, _ then: @escaping (CannedPolicy.Access?) -> Void) {
        guard requestGrantsNone() else { return }
        if let header = request.head.headers["x-amz-acl"] {
            do throws(S3Error) {
                let access = try CannedACL.parse(header).publicAccess
                if objects && access != nil { throw CannedACL.objectsCannotBePublic }
                return then(access)
            } catch {
                return fail(error)
            }
        }
        readXMLBody { [self] bytes in
            do throws(S3Error) {
                guard !bytes.isEmpty else {
                    throw S3Error(
                        "MissingSecurityHeader", 400,
                        "Your request was missing a required header: x-amz-acl, or an ACL document")
                }
                let access = try aclAccess(try XMLElement.document(bytes, root: "AccessControlPolicy"))
                if objects && access != nil { throw CannedACL.objectsCannotBePublic }
                then(access)
            } catch {
                fail(error)
            }
        }
    }

    /// The access granted to everyone by an AccessControlPolicy; its other grants must be the owner's
    /// FULL_CONTROL.
    private func aclAccess(_ xml: XMLElement) throws(S3Error) -> CannedPolicy.Access? {
        var everyone: Set<String> = []
        for grant in xml.child("AccessControlList")?.all("Grant") ?? [] {
            let grantee = grant.child("Grantee")
            let permission = grant.child("Permission")?.value ?? ""
            if let id = grantee?.child("ID")?.value {
                guard id == api.ownerID, permission == "FULL_CONTROL" else { throw CannedACL.grantsNotSupported }
            } else if grantee?.child("URI")?.value == S3Exchange.allUsers, ["READ", "WRITE"].contains(permission) {
                everyone.insert(permission)
            } else {
                throw CannedACL.grantsNotSupported
            }
        }
        if everyone.contains("WRITE") { return .public }
        return everyone.contains("READ") ? .download : nil
    }

    /// Whether the request (or a form's `headers`) grants anything to anyone with `x-amz-grant-*`.
    func grantsSomeone(_ headers: HTTPHeaders? = nil) -> Bool {
        (headers ?? request.head.headers).fields.contains { $0.name.lowercased().hasPrefix("x-amz-grant-") }
    }

    /// False (after answering) when the request grants anything to anyone.
    func requestGrantsNone(_ headers: HTTPHeaders? = nil) -> Bool {
        guard grantsSomeone(headers) else { return true }
        fail(CannedACL.grantsNotSupported)
        return false
    }

    /// False (after answering) when a request that creates an object asks for an ACL other than the
    /// owner's (public ones are bucket policies here).
    func objectACLIsOwners(_ headers: HTTPHeaders? = nil) -> Bool {
        guard requestGrantsNone(headers) else { return false }
        guard let header = (headers ?? request.head.headers)["x-amz-acl"] else { return true }
        do throws(S3Error) {
            if try CannedACL.parse(header).publicAccess != nil { throw CannedACL.objectsCannotBePublic }
            return true
        } catch {
            fail(error)
            return false
        }
    }

    /// An AccessControlPolicy: the owner with FULL_CONTROL, and `publicGrants` for everyone.
    private func aclDocument(publicGrants: [String] = []) -> String {
        var w = XMLWriter()
        w.open("AccessControlPolicy", namespace: true)
        writeOwner(&w, "Owner")
        w.open("AccessControlList")
        w.raw(
            "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">")
        w.element("ID", api.ownerID)
        w.element("DisplayName", "minio")
        w.close("Grantee")
        w.element("Permission", "FULL_CONTROL")
        w.close("Grant")
        for permission in publicGrants {
            w.raw("<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">")
            w.element("URI", S3Exchange.allUsers)
            w.close("Grantee")
            w.element("Permission", permission)
            w.close("Grant")
        }
        w.close("AccessControlList")
        w.close("AccessControlPolicy")
        return w.document
    }
}
