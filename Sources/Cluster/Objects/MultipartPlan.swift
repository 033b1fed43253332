import Core
import Storage

/// The quorum decisions of multipart uploads, as pure functions of what each node answered.
public enum MultipartPlan {
    public enum UploadResolution: Equatable, Sendable {
        /// The upload, and what each node that has it holds of it.
        case found(MultipartUpload, states: [NodeID: UploadState])
        case notFound
        case unavailable(answered: Int, needed: Int)
    }

    /// Finds an upload of `bucket`/`key` from every node's answer: it exists if a read quorum has it
    /// (an upload is created on a write quorum, and the answers overlap every write quorum in a read
    /// quorum); it does not if so many nodes say so that no write quorum can have it.
    public static func resolve(
        _ answers: [NodeID: Result<UploadState, StoreError>], bucket: String, key: String, set: ErasureSet
    ) -> UploadResolution {
        var states: [NodeID: UploadState] = [:]
        var notFound = 0
        for (node, answer) in answers {
            switch answer {
            case .success(let state) where state.upload.bucket == bucket && state.upload.key == key:
                states[node] = state
            case .success, .failure(.storage(.uploadNotFound)), .failure(.storage(.bucketNotFound)):
                notFound += 1
            case .failure: break
            }
        }
        if states.count >= set.readQuorum,
            let upload = states.values.map(\.upload).min(by: { $0.initiated < $1.initiated })
        {
            return .found(upload, states: states)
        }
        if notFound > set.nodes - set.writeQuorum { return .notFound }
        return .unavailable(answered: states.count + notFound, needed: set.readQuorum)
    }

    /// The parts of an upload as its nodes agree on them: for each number, the upload a read quorum
    /// holds with the same ETag (the newest, if it was uploaded again).
    public static func agreedParts(_ states: [NodeID: UploadState], set: ErasureSet) -> [PartInfo] {
        var byNumber: [Int: [String: (part: PartInfo, holders: Int)]] = [:]
        for state in states.values {
            for part in state.parts {
                byNumber[part.number, default: [:]][part.etag, default: (part, 0)].holders += 1
            }
        }
        return byNumber.keys.sorted().compactMap { number in
            byNumber[number]!.values.filter { $0.holders >= set.readQuorum }.map(\.part).first
        }
    }

    /// A part as CompleteMultipartUpload names it: its ETag, and the checksums the client has of it.
    public struct RequestedPart: Equatable, Sendable {
        public var number: Int
        public var etag: String
        /// Algorithm name to base64, as in `PartInfo.checksums`.
        public var checksums: [String: String]

        public init(number: Int, etag: String, checksums: [String: String] = [:]) {
            self.number = number
            self.etag = etag
            self.checksums = checksums
        }
    }

    /// What a completion commits: the parts, and the nodes that hold every one of them.
    public struct Completion: Equatable, Sendable {
        public var parts: [PartInfo]
        public var nodes: [NodeID]
    }

    /// Checks a CompleteMultipartUpload request against what the nodes hold: the parts ascend, each
    /// was uploaded with that ETag (and the checksums named) on at least k nodes, every part but the last
    /// is large enough. The nodes holding all of them commit (the caller needs write quorum of them).
    public static func completion(
        requested: [RequestedPart], states: [NodeID: UploadState], set: ErasureSet
    ) -> Result<Completion, ObjectError> {
        for (a, b) in zip(requested, requested.dropFirst()) where b.number <= a.number {
            return .failure(.invalidPartOrder)
        }
        var parts: [PartInfo] = []
        var nodes = Set(states.keys)
        for (i, wanted) in requested.enumerated() {
            let etag = normalizedETag(wanted.etag)
            let holders = states.filter { $0.value.parts.contains { $0.number == wanted.number && $0.etag == etag } }
            guard holders.count >= set.readQuorum,
                let part = holders.values.first?.parts.first(where: {
                    $0.number == wanted.number && $0.etag == etag
                }),
                wanted.checksums.allSatisfy({ part.checksums?[$0.key] == $0.value })
            else { return .failure(.invalidPart(number: wanted.number)) }
            if i < requested.count - 1 && part.size < MultipartLimits.partBytesMin {
                return .failure(.entityTooSmall(number: part.number, size: part.size))
            }
            parts.append(part)
            nodes.formIntersection(holders.keys)
        }
        return .success(Completion(parts: parts, nodes: nodes.sorted()))
    }

    /// S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then `-` and the part count.
    public static func etag(of parts: [PartInfo]) -> String {
        var joined: [UInt8] = []
        for part in parts { joined += [UInt8](hex: part.etag) ?? [] }
        return Crypto.md5(joined).hexString + "-\(parts.count)"
    }

    /// S3's checksums of a multipart object: of the bytes for a full-object upload, else composite ones.
    public static func checksums(of parts: [PartInfo], _ asked: MultipartChecksum?) -> [String: String] {
        guard let asked, asked.type == .fullObject else { return compositeChecksums(of: parts) }
        // No value rather than a wrong one when a part lacks its checksum (an upload recorded before it
        // was kept) or one cannot be combined.
        var combined: [UInt8]?
        for part in parts {
            guard let value = part.checksums?[asked.algorithm.rawValue].flatMap(Base64.decode) else { return [:] }
            guard let sofar = combined else {
                combined = value
                continue
            }
            guard let next = CRCCombine.combine(asked.algorithm, sofar, value, secondLength: part.size) else {
                return [:]
            }
            combined = next
        }
        return combined.map { [asked.algorithm.rawValue: Base64.encode($0)] } ?? [:]
    }

    /// Whether a checksum a client sent is the object's: composite ones match with or without their
    /// `-N` part count.
    public static func sameChecksum(_ stored: String?, _ sent: String) -> Bool {
        guard let stored else { return false }
        return stored == sent || stored.split(separator: "-").first.map(String.init) == sent
    }

    /// S3's checksums of a multipart object, for each algorithm every part has: the checksum of the
    /// parts' binary checksums, base64, then `-` and the part count.
    static func compositeChecksums(of parts: [PartInfo]) -> [String: String] {
        var out: [String: String] = [:]
        for algorithm in ChecksumAlgorithm.allCases {
            let values = parts.compactMap { $0.checksums?[algorithm.rawValue].flatMap(Base64.decode) }
            guard !parts.isEmpty, values.count == parts.count else { continue }
            var running = RunningChecksum(algorithm)
            for v in values { v.withUnsafeBytes { running.update($0) } }
            out[algorithm.rawValue] = Base64.encode(running.finish()) + "-\(parts.count)"
        }
        return out
    }

    /// An ETag as clients send it back: quoted or not, any case.
    static func normalizedETag(_ etag: String) -> String {
        String(etag.filter { $0 != "\"" && $0 != " " }).lowercased()
    }
}
