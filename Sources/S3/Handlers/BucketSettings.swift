import Cluster
import HTTP
import Storage

extension S3Exchange {
    /// Get<Setting>: the bucket's document, or the setting's own 404.
    func getBucketSetting<D: BucketDocument>(_: D.Type) {
        layer.bucketInfo(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let info):
                let value = info.settings[keyPath: D.setting]?.value
                if value == nil, let missing = D.missing { return fail(missing.about(bucket: s3.bucket)) }
                response.send(
                    status: 200, headers: ["Content-Type": D.contentType], body: Array(D.document(value).utf8))
            }
        }
    }

    /// Put<Setting>: the document checked whole, then set on a write quorum of nodes (nothing
    /// half-applied: a refused document changes nothing).
    func putBucketSetting<D: ParsedBucketDocument>(_: D.Type) {
        putBucketSetting(D.self) { bytes, info throws(S3Error) in try D.parse(bytes, bucket: info) }
    }

    /// Put<Setting> with the body read by `parse`.
    func putBucketSetting<D: BucketDocument>(
        _: D.Type, parse: @escaping ([UInt8], BucketInfo) throws(S3Error) -> D.Value?
    ) {
        readXMLBody { [self] bytes in
            changeBucketSetting(D.self, status: D.putStatus) { info throws(S3Error) in try parse(bytes, info) }
        }
    }

    func deleteBucketSetting<D: BucketDocument>(_: D.Type) {
        changeBucketSetting(D.self, status: 204) { info throws(S3Error) in
            if let refusal = D.refusesDelete(info) { throw refusal }
            return nil
        }
    }

    /// Sets (or, with nil, removes) a setting to what `value` makes of the bucket as a quorum has it.
    func changeBucketSetting<D: BucketDocument>(
        _: D.Type, status: Int, _ value: @escaping (BucketInfo) throws(S3Error) -> D.Value?
    ) {
        var refusal: S3Error?
        layer.changeSettings(s3.bucket) { info, stamp in
            do throws(S3Error) {
                var change = BucketSettings()
                change[keyPath: D.setting] = Stamped(try value(info), changed: stamp)
                return .success(change)
            } catch {
                refusal = error
                return .failure(.invalidBucketState(error.message))
            }
        } _: { [self] result in
            switch result {
            case .failure(let e): fail(refusal ?? S3Error.from(e))
            case .success: response.send(status: status)
            }
        }
    }
}
