import Core
import Storage

extension ObjectLayer {
    /// Changes the attributes (tags, retention, legal hold) of a version, the latest when `versionID` is
    /// nil, without a new write: under the object's write lock, `change` gets the version as a read
    /// quorum holds it and answers its new attributes (or why not). They are stamped later than the
    /// version's last change and set on every node holding it; done once a write quorum took them (a
    /// node that did not is journaled and healed, as for a missed write). Below quorum the change is
    /// not taken back (like a delete): copies that took it win over the others once healed.
    public func changeAttributes(
        bucket: String, key: String, versionID: String?,
        _ change: @escaping (ObjectVersion) -> Result<VersionAttributes, ObjectError>,
        _ done: @escaping (Result<ObjectVersion, ObjectError>) -> Void
    ) {
        if let error = ObjectLayer.invalidName(bucket: bucket, key: key) { return done(.failure(error)) }
        locked(bucket: bucket, key: key, failed: { done(.failure($0)) }) { [self] lock in
            headObject(bucket: bucket, key: key, versionID: versionID) { [self] found in
                let finish: (Result<ObjectVersion, ObjectError>) -> Void = { result in
                    lock.release()
                    done(result)
                }
                guard case .success(let object) = found else { return finish(.failure(found.failure!)) }
                let version = object.version
                var attributes: VersionAttributes
                switch change(version) {
                case .failure(let e): return finish(.failure(e))
                case .success(let a): attributes = a
                }
                attributes.time = max(WallTime.now().millisecondsSinceEpoch, version.attributesTime + 1)
                setAttributes(bucket: bucket, key: key, version, attributes) { result in
                    var updated = version
                    updated.set(attributes)
                    finish(result.map { updated })
                }
            }
        }
    }

    private func setAttributes(
        bucket: String, key: String, _ write: ObjectVersion, _ attributes: VersionAttributes,
        _ done: @escaping (Result<Void, ObjectError>) -> Void
    ) {
        fanOut(includingHealing: true, { $0.setAttributes(bucket: bucket, key: key, write: write, attributes, $1) }) {
            [self] answers in
            let took = answers.filter { (try? $0.value.get()) != nil }.map(\.key)
            guard took.count >= set.writeQuorum else {
                return done(
                    .failure(.writeQuorum(reached: took.count, needed: set.writeQuorum, detail: Self.summary(answers))))
            }
            let missed = MissedWrite(
                bucket: bucket, key: key, versionID: write.versionID, isDelete: false,
                nodes: answers.keys.filter { !took.contains($0) }.sorted())
            journal(missed, holders: took) { done(.success(())) }
        }
    }
}
