import Cluster

extension S3Exchange {
    /// GetBucketPolicyStatus: whether the bucket's policy lets anyone at all in (any Allow for
    /// anonymous callers, who are the only principals a policy here names).
    func getBucketPolicyStatus() {
        layer.bucketInfo(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let info):
                let statements = info.settings.policy?.value?.statements ?? []
                let isPublic = statements.contains { $0.effect == .allow && $0.conditions.isEmpty }
                var w = XMLWriter()
                w.open("PolicyStatus", namespace: true)
                w.element("IsPublic", isPublic ? "true" : "false")
                w.close("PolicyStatus")
                sendXML(w.document)
            }
        }
    }
}
