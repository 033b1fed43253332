import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    /// PutObjectTagging: replaces the version's tags (not a new write: ETag and LastModified stay).
    func putObjectTagging() {
        readXMLBody { [self] bytes in
            let tags: [String: String]
            do {
                tags = try Tagging.parse(try XMLElement.parse(bytes))
            } catch let error as Tagging.Invalid {
                return fail(.invalidTag(error.description))
            } catch {
                return fail(.malformedXML("The XML you provided was not well-formed: \(error)"))
            }
            changeTags(to: tags, status: 200)
        }
    }

    func deleteObjectTagging() {
        changeTags(to: [:], status: 204)
    }

    private func changeTags(to tags: [String: String], status: Int) {
        let named = s3.query["versionId"] != nil
        layer.changeAttributes(bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"]) { [s3] version in
            guard !version.isDeleteMarker else {
                return .failure(
                    named
                        ? .methodNotAllowed("a delete marker has no tags") : .noSuchKey(bucket: s3.bucket, key: s3.key))
            }
            var attributes = version.attributes
            attributes.tags = tags
            return .success(attributes)
        } _: { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let version):
                response.send(status: status, headers: versionHeader(version))
            }
        }
    }

    func getObjectTagging() {
        layer.headObject(bucket: s3.bucket, key: s3.key, versionID: s3.query["versionId"]) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let object) where object.version.isDeleteMarker:
                if s3.query["versionId"] != nil {
                    return fail(ObjectError.methodNotAllowed("a delete marker has no tags"))
                }
                fail(S3Error.from(.noSuchKey(bucket: s3.bucket, key: s3.key)))
            case .success(let object):
                sendXML(Tagging.document(object.version.tags), headers: versionHeader(object.version))
            }
        }
    }

    /// `x-amz-version-id` of a version of a versioned bucket (none for the null version).
    func versionHeader(_ version: ObjectVersion) -> HTTPHeaders {
        version.versionID == VersionID.null ? [:] : ["x-amz-version-id": version.versionID]
    }

    /// The tags of a new object from `x-amz-tagging` (PutObject, CreateMultipartUpload, a copy with
    /// `x-amz-tagging-directive: REPLACE`); nil after answering with an error.
    func requestTags(_ headers: HTTPHeaders? = nil) -> [String: String]? {
        do throws(Tagging.Invalid) {
            return try Tagging.parse(header: (headers ?? request.head.headers)["x-amz-tagging"] ?? "")
        } catch {
            fail(.invalidTag(error.description))
            return nil
        }
    }
}
