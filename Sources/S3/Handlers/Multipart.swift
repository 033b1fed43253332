import Cluster
import Core
import HTTP
import Storage

extension S3Exchange {
    static let maxPartsMax = 1000
    static let maxUploadsMax = 1000

    func createMultipartUpload() {
        var options = PutOptions()
        guard readObjectAttributes(into: &options), readMultipartChecksum(into: &options) else { return }
        layer.createMultipartUpload(bucket: s3.bucket, key: s3.key, options: options) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let upload):
                var w = XMLWriter()
                w.open("InitiateMultipartUploadResult", namespace: true)
                w.element("Bucket", s3.bucket)
                w.element("Key", s3.key)
                w.element("UploadId", upload.uploadID)
                w.close("InitiateMultipartUploadResult")
                var headers: HTTPHeaders = [:]
                if let checksum = upload.checksum {
                    headers.add("x-amz-checksum-algorithm", checksum.algorithm.rawValue)
                    headers.add("x-amz-checksum-type", checksum.type.rawValue)
                }
                sendXML(w.document, headers: headers)
            }
        }
    }

    /// `x-amz-checksum-algorithm` and `x-amz-checksum-type` of CreateMultipartUpload (false once it has
    /// answered a pair S3 refuses).
    private func readMultipartChecksum(into options: inout PutOptions) -> Bool {
        let headers = request.head.headers
        let typeName = headers["x-amz-checksum-type"]
        guard let algorithmName = headers["x-amz-checksum-algorithm"] else {
            if let typeName {
                fail(S3Error.invalidRequest("x-amz-checksum-type \(typeName) needs an x-amz-checksum-algorithm"))
                return false
            }
            return true
        }
        guard let algorithm = ChecksumAlgorithm(rawValue: algorithmName.uppercased()) else {
            fail(S3Error.invalidArgument("unsupported x-amz-checksum-algorithm '\(algorithmName)'"))
            return false
        }
        var type: ChecksumType?
        if let typeName {
            guard let named = ChecksumType(rawValue: typeName.uppercased()) else {
                fail(S3Error.invalidArgument("x-amz-checksum-type is COMPOSITE or FULL_OBJECT, not '\(typeName)'"))
                return false
            }
            type = named
        }
        // Without a type the algorithm's default is always allowed.
        guard let checksum = MultipartChecksum(algorithm: algorithm, type: type) else {
            fail(
                S3Error.invalidRequest(
                    "The \(typeName ?? "") checksum type cannot be used with the \(algorithm.rawValue) checksum algorithm."
                ))
            return false
        }
        options.multipartChecksum = checksum
        return true
    }

    /// An upload's `<ChecksumAlgorithm>` and `<ChecksumType>`, when it was begun with one.
    static func writeChecksumKind(_ checksum: MultipartChecksum?, _ w: inout XMLWriter) {
        guard let checksum else { return }
        w.element("ChecksumAlgorithm", checksum.algorithm.rawValue)
        w.element("ChecksumType", checksum.type.rawValue)
    }

    /// Writes the markers of the page of up to `maxParts` part numbers after `marker`, and answers the
    /// numbers on it.
    static func writePartPage(_ numbers: [Int], marker: Int, maxParts: Int, _ w: inout XMLWriter) -> Set<Int> {
        let after = numbers.filter { $0 > marker }
        let page = after.prefix(maxParts)
        w.element("PartNumberMarker", String(marker))
        w.element("NextPartNumberMarker", String(page.last ?? marker))
        w.element("MaxParts", String(maxParts))
        w.element("IsTruncated", after.count > page.count ? "true" : "false")
        return Set(page)
    }

    /// The `partNumber` query parameter, when it is a valid part number (else answers with an error).
    func partNumber() -> Int? {
        guard let text = s3.query["partNumber"], let n = Int(text), (1...MultipartLimits.partNumberMax).contains(n)
        else {
            fail(.invalidArgument("Part number must be an integer between 1 and \(MultipartLimits.partNumberMax)"))
            return nil
        }
        return n
    }

    func uploadPart() {
        guard let number = partNumber(), let uploadID = s3.query["uploadId"] else { return }
        var base = PutOptions()
        base.sizeMax = MultipartLimits.partBytesMax
        guard let incoming = incomingBody(base) else { return }
        layer.uploadPart(
            bucket: s3.bucket, key: s3.key, uploadID: uploadID, partNumber: number, options: incoming.options,
            body: incoming.body, verify: incoming.verify
        ) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let part):
                var out: HTTPHeaders = ["ETag": "\"\(part.etag)\""]
                for (name, value) in part.checksums ?? [:] { out.add("x-amz-checksum-\(name.lowercased())", value) }
                response.send(status: 200, headers: out)
            }
        }
    }

    func completeMultipartUpload() {
        let uploadID = s3.query["uploadId"] ?? ""
        readXMLBody { [self] bytes in
            let requested: [MultipartPlan.RequestedPart]
            do throws(S3Error) {
                requested = try S3Exchange.completionParts(bytes)
            } catch {
                return fail(error)
            }
            var expected: [ChecksumAlgorithm: String] = [:]
            for (name, value) in request.head.headers.fields {
                if let algorithm = ChecksumAlgorithm(headerName: name) {
                    expected[algorithm] = value.trimmingCharacters()
                }
            }
            layer.completeMultipartUpload(
                bucket: s3.bucket, key: s3.key, uploadID: uploadID, parts: requested, expected: expected,
                condition: writeCondition()
            ) { [self] result in
                switch result {
                case .failure(let e): fail(e)
                case .success(let version):
                    var w = XMLWriter()
                    w.open("CompleteMultipartUploadResult", namespace: true)
                    w.element("Location", "/\(s3.bucket)/\(URLEncoding.encode(s3.key, keepSlash: true))")
                    w.element("Bucket", s3.bucket)
                    w.element("Key", s3.key)
                    w.element("ETag", "\"\(version.etag)\"")
                    S3Exchange.writeChecksums(version.checksums, &w)
                    w.close("CompleteMultipartUploadResult")
                    let headers = versionHeader(version)
                    sendXML(w.document, headers: headers)
                    notify(
                        "ObjectCreated:CompleteMultipartUpload", bucket: s3.bucket, key: s3.key, size: version.size,
                        etag: version.etag, versionID: version.versionID)
                }
            }
        }
    }

    /// The parts of a CompleteMultipartUpload document, in the order given.
    static func completionParts(_ bytes: [UInt8]) throws(S3Error) -> [MultipartPlan.RequestedPart] {
        let xml: XMLElement
        do throws(XMLElement.Failure) {
            xml = try XMLElement.parse(bytes)
        } catch {
            throw .malformedXML("The XML you provided was not well-formed: \(error)")
        }
        guard xml.name == "CompleteMultipartUpload" else { throw .malformedXML("expected CompleteMultipartUpload") }
        let parts = try xml.all("Part").map { part throws(S3Error) -> MultipartPlan.RequestedPart in
            guard let number = part.child("PartNumber").flatMap({ Int($0.value) }), let etag = part.child("ETag")?.value
            else { throw .malformedXML("every Part needs a PartNumber and an ETag") }
            var checksums: [String: String] = [:]
            for algorithm in ChecksumAlgorithm.allCases {
                if let value = part.child("Checksum" + algorithm.rawValue)?.value.trimmingCharacters() {
                    checksums[algorithm.rawValue] = value
                }
            }
            return MultipartPlan.RequestedPart(number: number, etag: etag, checksums: checksums)
        }
        guard !parts.isEmpty, parts.count <= MultipartLimits.partNumberMax else {
            throw .malformedXML("a completion names 1 to \(MultipartLimits.partNumberMax) parts")
        }
        return parts
    }

    func abortMultipartUpload() {
        layer.abortMultipartUpload(bucket: s3.bucket, key: s3.key, uploadID: s3.query["uploadId"] ?? "") {
            [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success: response.send(status: 204)
            }
        }
    }

    func listParts() {
        let uploadID = s3.query["uploadId"] ?? ""
        guard let maxParts = boundedCount("max-parts", S3Exchange.maxPartsMax),
            let marker = boundedCount("part-number-marker", MultipartLimits.partNumberMax, default: 0)
        else { return }
        layer.listParts(bucket: s3.bucket, key: s3.key, uploadID: uploadID) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let state):
                var w = XMLWriter()
                w.open("ListPartsResult", namespace: true)
                w.element("Bucket", s3.bucket)
                w.element("Key", s3.key)
                w.element("UploadId", uploadID)
                writeOwner(&w, "Initiator")
                writeOwner(&w, "Owner")
                w.element("StorageClass", "STANDARD")
                Self.writeChecksumKind(state.upload.checksum, &w)
                let page = Self.writePartPage(state.parts.map(\.number), marker: marker, maxParts: maxParts, &w)
                for part in state.parts where page.contains(part.number) {
                    w.open("Part")
                    w.element("PartNumber", String(part.number))
                    w.element("LastModified", S3Exchange.isoTime(state.upload.initiated))
                    w.element("ETag", "\"\(part.etag)\"")
                    w.element("Size", String(part.size))
                    S3Exchange.writeChecksums(part.checksums ?? [:], &w, withType: false)
                    w.close("Part")
                }
                w.close("ListPartsResult")
                sendXML(w.document)
            }
        }
    }

    func listMultipartUploads() {
        let q = s3.query
        guard let maxUploads = boundedCount("max-uploads", S3Exchange.maxUploadsMax) else { return }
        let prefix = q["prefix"] ?? ""
        let delimiter = q["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        let keyMarker = q["key-marker"] ?? ""
        let uploadIDMarker = q["upload-id-marker"] ?? ""
        layer.listMultipartUploads(bucket: s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let uploads):
                let page = UploadListing.page(
                    uploads, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker,
                    uploadIDMarker: uploadIDMarker, limit: maxUploads)
                var w = XMLWriter()
                w.open("ListMultipartUploadsResult", namespace: true)
                w.element("Bucket", s3.bucket)
                w.element("KeyMarker", keyMarker)
                w.element("UploadIdMarker", uploadIDMarker)
                w.element("NextKeyMarker", page.nextKeyMarker ?? "")
                w.element("NextUploadIdMarker", page.nextUploadIDMarker ?? "")
                w.element("MaxUploads", String(maxUploads))
                w.element("IsTruncated", page.isTruncated ? "true" : "false")
                w.element("Prefix", prefix)
                if let delimiter { w.element("Delimiter", delimiter) }
                for upload in page.uploads {
                    w.open("Upload")
                    w.element("Key", upload.key)
                    w.element("UploadId", upload.uploadID)
                    writeOwner(&w, "Initiator")
                    writeOwner(&w, "Owner")
                    w.element("StorageClass", "STANDARD")
                    w.element("Initiated", S3Exchange.isoTime(upload.initiated))
                    Self.writeChecksumKind(upload.checksum, &w)
                    w.close("Upload")
                }
                w.commonPrefixes(page.prefixes, encode: { $0 })
                w.close("ListMultipartUploadsResult")
                sendXML(w.document)
            }
        }
    }

    func writeOwner(_ w: inout XMLWriter, _ element: String) {
        w.open(element)
        w.element("ID", api.ownerID)
        w.element("DisplayName", "minio")
        w.close(element)
    }

    /// A non-negative count from the query, at most `max` (its default); nil after answering with an error.
    func boundedCount(_ name: String, _ max: Int, default fallback: Int? = nil) -> Int? {
        guard let text = s3.query[name] else { return fallback ?? max }
        guard let n = Int(text), n >= 0 else {
            fail(.invalidArgument("\(name) must be a number from 0"))
            return nil
        }
        return min(n, max)
    }
}

/// The paging of ListMultipartUploads: key and upload-id markers, prefix, delimiter. Pure.
enum UploadListing {
    struct Page {
        var uploads: [MultipartUpload] = []
        var prefixes: [String] = []
        var isTruncated = false
        var nextKeyMarker: String?
        var nextUploadIDMarker: String?
    }

    /// `uploads` sorted by key, then initiation.
    static func page(
        _ uploads: [MultipartUpload], prefix: String, delimiter: String?, keyMarker: String, uploadIDMarker: String,
        limit: Int
    ) -> Page {
        var page = Page()
        var markerUploadSeen = uploadIDMarker.isEmpty
        for upload in uploads where upload.key.hasPrefix(prefix) {
            if !keyMarker.isEmpty {
                if upload.key < keyMarker { continue }
                if upload.key == keyMarker {
                    // Within the marker key, only the uploads after the marker upload (none without one).
                    if uploadIDMarker.isEmpty { continue }
                    if !markerUploadSeen {
                        markerUploadSeen = upload.uploadID == uploadIDMarker
                        continue
                    }
                }
            }
            if let delimiter, let range = upload.key.dropFirst(prefix.count).firstRange(of: delimiter) {
                let common = prefix + upload.key.dropFirst(prefix.count)[..<range.upperBound]
                if page.prefixes.last == common { continue }
                if page.uploads.count + page.prefixes.count >= limit {
                    page.isTruncated = true
                    break
                }
                page.prefixes.append(common)
                page.nextKeyMarker = common
                page.nextUploadIDMarker = nil
                continue
            }
            if page.uploads.count + page.prefixes.count >= limit {
                page.isTruncated = true
                break
            }
            page.uploads.append(upload)
            page.nextKeyMarker = upload.key
            page.nextUploadIDMarker = upload.uploadID
        }
        if !page.isTruncated {
            page.nextKeyMarker = nil
            page.nextUploadIDMarker = nil
        }
        return page
    }
}
