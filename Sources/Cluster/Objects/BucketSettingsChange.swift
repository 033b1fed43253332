import Core
import Storage

extension ObjectLayer {
    /// Changes a bucket's settings on a write quorum of nodes: `change` gets the bucket as a quorum
    /// has it and the stamp to give the settings it changes (after every earlier change, whatever the
    /// clocks), and answers those settings or why the change is refused.
    public func changeSettings(
        _ name: String,
        _ change: @escaping (BucketInfo, _ stamp: Int64) -> Result<BucketSettings, ObjectError>,
        _ done: @escaping (Result<BucketInfo, ObjectError>) -> Void
    ) {
        bucketInfo(name) { [self] found in
            guard case .success(let info) = found else { return done(found) }
            let stamp = max(WallTime.now().millisecondsSinceEpoch, info.settings.lastChanged + 1)
            let settings: BucketSettings
            switch change(info, stamp) {
            case .failure(let e): return done(.failure(e))
            case .success(let s): settings = s
            }
            fanOut(includingHealing: true, { $0.changeSettings(name, settings, $1) }) { [self] answers in
                knownBuckets[name] = nil
                let reached = answers.values.count { (try? $0.get()) != nil }
                guard reached >= set.metadataQuorum else {
                    return done(
                        .failure(
                            .writeQuorum(reached: reached, needed: set.metadataQuorum, detail: Self.summary(answers))))
                }
                var changed = info
                changed.settings = info.settings.merged(with: settings)
                done(.success(changed))
            }
        }
    }

    /// Forgets what this node remembers of a bucket (another node changed it here).
    public func forgetBucket(_ name: String) { knownBuckets[name] = nil }
}
