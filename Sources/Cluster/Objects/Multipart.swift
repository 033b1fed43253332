import Core
import Erasure
import Loop
import Storage

extension ObjectLayer {
    /// Starts a multipart upload: recorded on a write quorum of nodes, with the object's attributes,
    /// geometry and shard placement, which every part then follows.
    public func createMultipartUpload(
        bucket: String, key: String, options: PutOptions,
        _ done: @escaping (Result<MultipartUpload, ObjectError>) -> Void
    ) {
        if let error = ObjectLayer.invalidName(bucket: bucket, key: key) { return done(.failure(error)) }
        requireBucket(bucket) { [self] found in
            var options = options
            do throws(ObjectError) {
                options = try ObjectLockRules.applying(options, bucket: try found.get(), now: .now())
            } catch {
                return done(.failure(error))
            }
            let g = set.geometry
            let id = Crypto.randomBytes(16).hexString
            var template = ObjectVersion(
                versionID: VersionID.null, modTime: 0, size: 0, etag: "", contentType: options.contentType,
                userMetadata: options.userMetadata, headers: options.headers,
                erasure: ErasureInfo(
                    dataShards: g.dataShards, parityShards: g.parityShards, blockSize: g.blockSize, index: 0,
                    distribution: set.distribution(bucket: bucket, key: key)),
                dataDir: id)
            template.tags = options.tags
            template.retention = options.retention
            template.legalHold = options.legalHold
            let upload = MultipartUpload(
                uploadID: id, bucket: bucket, key: key, initiated: WallTime.now().millisecondsSinceEpoch,
                template: template, checksum: options.multipartChecksum)
            fanOut(includingHealing: true, { $0.createUpload(upload, $1) }) { [self] answers in
                let made = answers.filter { (try? $0.value.get()) != nil }.map(\.key)
                guard made.count >= set.writeQuorum else {
                    for node in made { store(node).abortUpload(id) { _ in } }
                    return done(
                        .failure(
                            .writeQuorum(
                                reached: made.count, needed: set.writeQuorum, detail: ObjectLayer.summary(answers))))
                }
                done(.success(upload))
            }
        }
    }

    /// The upload as a read quorum of nodes holds it.
    func resolveUpload(
        bucket: String, key: String, uploadID: String,
        _ done: @escaping (Result<(MultipartUpload, [NodeID: UploadState]), ObjectError>) -> Void
    ) {
        // An id this server never makes names no upload: the client's mistake, not a node's failure.
        guard UploadID.isWellFormed(uploadID) else { return done(.failure(.noSuchUpload(uploadID))) }
        fanOut({ $0.uploadState(uploadID, $1) }) { [self] answers in
            switch MultipartPlan.resolve(answers, bucket: bucket, key: key, set: set) {
            case .found(let upload, let states): done(.success((upload, states)))
            case .notFound: done(.failure(.noSuchUpload(uploadID)))
            case .unavailable(let answered, let needed):
                done(.failure(.readQuorum(answered: answered, needed: needed, detail: ObjectLayer.summary(answers))))
            }
        }
    }

    /// Streams one part into the nodes that hold the upload, erasure-coded like an object; done once a
    /// write quorum recorded it. Uploading a number again replaces that part.
    public func uploadPart(
        bucket: String, key: String, uploadID: String, partNumber: Int, options: PutOptions, body: ObjectBody,
        verify: @escaping (ContentDigests) -> ObjectError?, _ done: @escaping (Result<PartInfo, ObjectError>) -> Void
    ) {
        resolveUpload(bucket: bucket, key: key, uploadID: uploadID) { [self] result in
            let upload: MultipartUpload
            let targets: [Int]
            let coder: BlockCoder
            do throws(ObjectError) {
                let (found, states) = try result.get()
                upload = found
                targets = try writeTargets(among: states.keys.map(index(of:)).sorted())
                guard let erasure = upload.template.erasure else { throw .internalError("the upload has no geometry") }
                coder = try self.coder(
                    for: ErasureGeometry(
                        dataShards: erasure.dataShards, parityShards: erasure.parityShards,
                        blockSize: erasure.blockSize))
            } catch {
                return done(.failure(error))
            }
            var options = options
            if let algorithm = upload.checksum?.algorithm, !options.checksums.contains(algorithm) {
                options.checksums.append(algorithm)
            }
            PutOperation(
                layer: self, bucket: bucket, key: key, destination: .part(upload, number: partNumber),
                options: options, coder: coder, targets: targets, verify: verify
            ) { result in
                done(
                    result.map {
                        PartInfo(
                            number: partNumber, size: $0.size, etag: $0.etag,
                            checksums: $0.checksums.isEmpty ? nil : $0.checksums)
                    })
            }
            .start(body)
        }
    }

    /// Completes an upload into a new version of the object: the listed parts, in order, committed on
    /// the nodes that hold all of them (write quorum needed). The other nodes drop the upload and are
    /// reported as missed.
    /// `condition`: judged under the object's write lock against the object as it is then (If-Match,
    /// If-None-Match), as a PUT's. `expected`: the object's checksums as the client computed them
    /// (BadDigest, nothing committed, if one differs).
    public func completeMultipartUpload(
        bucket: String, key: String, uploadID: String, parts requested: [MultipartPlan.RequestedPart],
        expected: [ChecksumAlgorithm: String] = [:], condition: (@Sendable (ObjectVersion?) -> ObjectError?)? = nil,
        _ done: @escaping (Result<ObjectVersion, ObjectError>) -> Void
    ) {
        requireBucket(bucket) { [self] bucketInfo in
            guard case .success(let info) = bucketInfo else { return done(.failure(bucketInfo.failure!)) }
            complete(
                bucket: bucket, key: key, uploadID: uploadID, parts: requested, expected: expected,
                versionID: ObjectLayer.versionID(for: info), condition: condition, done)
        }
    }

    private func complete(
        bucket: String, key: String, uploadID: String, parts requested: [MultipartPlan.RequestedPart],
        expected: [ChecksumAlgorithm: String], versionID: String,
        condition: (@Sendable (ObjectVersion?) -> ObjectError?)?,
        _ done: @escaping (Result<ObjectVersion, ObjectError>) -> Void
    ) {
        resolveUpload(bucket: bucket, key: key, uploadID: uploadID) { [self] result in
            if case .failure(.noSuchUpload) = result {
                // Completed already (a client retrying after a lost answer): the same answer again.
                return headObject(bucket: bucket, key: key) { found in
                    guard case .success(let object) = found, object.version.completedUploadID == uploadID else {
                        return done(.failure(.noSuchUpload(uploadID)))
                    }
                    done(.success(object.version))
                }
            }
            let upload: MultipartUpload
            let plan: MultipartPlan.Completion
            do throws(ObjectError) {
                let (found, states) = try result.get()
                upload = found
                plan = try MultipartPlan.completion(requested: requested, states: states, set: set).get()
            } catch {
                return done(.failure(error))
            }
            let nodes = plan.nodes.map(index(of:)).filter { isReachable(nodeID($0)) }
            guard nodes.count >= set.writeQuorum else {
                return done(
                    .failure(
                        .writeQuorum(
                            reached: nodes.count, needed: set.writeQuorum,
                            detail: "only \(plan.nodes.map(\.rawValue).joined(separator: ", ")) hold every part")))
            }
            var final = upload.template
            final.versionID = versionID
            final.size = plan.parts.reduce(0) { $0 + $1.size }
            final.etag = MultipartPlan.etag(of: plan.parts)
            final.parts = plan.parts
            final.checksums = MultipartPlan.checksums(of: plan.parts, upload.checksum)
            for (algorithm, value) in expected
            where !MultipartPlan.sameChecksum(final.checksums[algorithm.rawValue], value) {
                return done(.failure(.badDigest("x-amz-checksum-\(algorithm.rawValue.lowercased()) mismatch")))
            }
            final.completedUploadID = uploadID
            locked(bucket: bucket, key: key, failed: { done(.failure($0)) }) { [self] lock in
                currentVersion(bucket: bucket, key: key) { [self] current in
                    guard case .success(let current) = current else {
                        lock.release()
                        return done(.failure(current.failure!))
                    }
                    if let condition, let error = condition(current.flatMap { $0.isDeleteMarker ? nil : $0 }) {
                        lock.release()
                        return done(.failure(error))
                    }
                    var final = final
                    final.modTime = ObjectLayer.stamp(after: current)
                    commitVersion(bucket: bucket, key: key, final, on: nodes, source: .upload(uploadID)) {
                        [self] result in
                        lock.release()
                        if case .success(let committed) = result {
                            for node in stores.indices where !committed.contains(node) {
                                stores[node].abortUpload(uploadID) { _ in }
                            }
                        }
                        done(result.map { _ in final })
                    }
                }
            }
        }
    }

    /// Drops an upload and its parts on every node.
    public func abortMultipartUpload(
        bucket: String, key: String, uploadID: String, _ done: @escaping (Result<Void, ObjectError>) -> Void
    ) {
        resolveUpload(bucket: bucket, key: key, uploadID: uploadID) { [self] result in
            if case .failure(let e) = result { return done(.failure(e)) }
            fanOut(includingHealing: true, { $0.abortUpload(uploadID, $1) }) { _ in done(.success(())) }
        }
    }

    /// The upload and the parts a read quorum of its nodes agree on.
    public func listParts(
        bucket: String, key: String, uploadID: String,
        _ done: @escaping (Result<UploadState, ObjectError>) -> Void
    ) {
        resolveUpload(bucket: bucket, key: key, uploadID: uploadID) { [self] result in
            done(result.map { UploadState(upload: $0.0, parts: MultipartPlan.agreedParts($0.1, set: set)) })
        }
    }

    /// The uploads in progress into a bucket that a read quorum of nodes holds, by key then age.
    public func listMultipartUploads(
        bucket: String, _ done: @escaping (Result<[MultipartUpload], ObjectError>) -> Void
    ) {
        fanOut({ $0.listUploads(bucket: bucket, $1) }) { [self] answers in
            let lists = answers.values.compactMap { try? $0.get() }
            let noBucket = answers.values.count { $0.failure == .storage(.bucketNotFound(bucket)) }
            if noBucket >= set.readQuorum { return done(.failure(.noSuchBucket(bucket))) }
            guard lists.count >= set.readQuorum else {
                return done(
                    .failure(
                        .readQuorum(answered: lists.count, needed: set.readQuorum, detail: ObjectLayer.summary(answers))
                    ))
            }
            var counts: [String: (Int, MultipartUpload)] = [:]
            for list in lists {
                for u in list { counts[u.uploadID] = ((counts[u.uploadID]?.0 ?? 0) + 1, u) }
            }
            done(
                .success(
                    counts.values.filter { $0.0 >= set.readQuorum }.map(\.1).sorted {
                        ($0.key, $0.initiated, $0.uploadID) < ($1.key, $1.initiated, $1.uploadID)
                    }))
        }
    }
}
