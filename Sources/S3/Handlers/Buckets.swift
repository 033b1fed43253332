import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    func listBuckets() {
        layer.listBuckets { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let buckets):
                var w = XMLWriter()
                w.open("ListAllMyBucketsResult", namespace: true)
                w.open("Owner")
                w.element("ID", api.ownerID)
                w.element("DisplayName", "minio")
                w.close("Owner")
                w.open("Buckets")
                for b in buckets {
                    w.open("Bucket")
                    w.element("Name", b.name)
                    w.element("CreationDate", S3Exchange.isoTime(b.created))
                    w.close("Bucket")
                }
                w.close("Buckets")
                w.close("ListAllMyBucketsResult")
                sendXML(w.document)
            }
        }
    }

    /// CreateBucket; a CreateBucketConfiguration body, when sent, must at least be well-formed XML.
    func createBucket() {
        readXMLBody { [self] bytes in
            if !bytes.isEmpty {
                do throws(XMLElement.Failure) {
                    let xml = try XMLElement.parse(bytes)
                    guard xml.name == "CreateBucketConfiguration" else {
                        return fail(.malformedXML("expected CreateBucketConfiguration"))
                    }
                } catch {
                    return fail(.malformedXML("The XML you provided was not well-formed: \(error)"))
                }
            }
            var settings = BucketSettings()
            do throws(S3Error) {
                settings = try createdSettings()
            } catch {
                return fail(error)
            }
            // Object lock is turned on as the bucket is made, with versioning (it needs it).
            let locked = request.head.headers["x-amz-bucket-object-lock-enabled"]?.lowercased() == "true"
            if locked {
                settings.objectLock = Stamped(
                    ObjectLockConfiguration(enabled: true), changed: WallTime.now().millisecondsSinceEpoch)
            }
            layer.makeBucket(s3.bucket, versioning: locked ? "Enabled" : nil, settings: settings) { [self] result in
                switch result {
                // AWS, for compatibility, in us-east-1 only: re-creating your own bucket succeeds.
                case .failure(.bucketAlreadyOwnedByYou) where api.region == "us-east-1", .success:
                    response.send(status: 200, headers: ["Location": "/\(s3.bucket)"])
                case .failure(let e): fail(e)
                }
            }
        }
    }

    /// The settings a new bucket starts with from its request: a public canned ACL is its policy.
    private func createdSettings() throws(S3Error) -> BucketSettings {
        var settings = BucketSettings()
        if grantsSomeone() { throw CannedACL.grantsNotSupported }
        let stamp = WallTime.now().millisecondsSinceEpoch
        if let header = request.head.headers["x-amz-acl"], let access = try CannedACL.parse(header).publicAccess {
            let document = CannedPolicy.document(bucket: s3.bucket, access: access)
            settings.policy = Stamped(
                try Policy.parse(Array(document.utf8), bucket: BucketInfo(name: s3.bucket, created: stamp)),
                changed: stamp)
        }
        return settings
    }

    func headBucket() {
        layer.bucketInfo(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success:
                response.writeHead(status: 200, headers: ["X-Amz-Bucket-Region": api.region], contentLength: 0)
                response.end()
            }
        }
    }

    func deleteBucket() {
        layer.deleteBucket(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success: response.send(status: 204)
            }
        }
    }

    func getBucketLocation() {
        layer.bucketInfo(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success:
                var w = XMLWriter()
                w.open("LocationConstraint", namespace: true)
                // AWS answers an empty constraint for us-east-1.
                if api.region != "us-east-1" { w.text(api.region) }
                w.close("LocationConstraint")
                sendXML(w.document)
            }
        }
    }
}
