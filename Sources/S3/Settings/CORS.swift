import Cluster
import HTTP
import Storage

/// A bucket's CORS configuration (Put/Get/DeleteBucketCors) and how a browser's request is judged by
/// it: the first rule that allows the origin, the method and (for a preflight) every requested header
/// decides the `Access-Control-*` headers. Pure.
enum CORS: ParsedBucketDocument {
    static var setting: WritableKeyPath<BucketSettings, Stamped<[CORSRule]>?> { \.cors }
    static let missing: S3Error? = S3Error("NoSuchCORSConfiguration", 404, "The CORS configuration does not exist")
    /// S3's limits: rules per configuration, and the document's size.
    static let rulesMax = 100
    static let documentBytesMax = 64 << 10
    static let methods: Set<String> = ["GET", "PUT", "POST", "DELETE", "HEAD"]

    static func parse(_ body: [UInt8], bucket: BucketInfo) throws(S3Error) -> [CORSRule] {
        guard body.count <= documentBytesMax else {
            throw .malformedXML("the CORS configuration is larger than \(documentBytesMax) bytes")
        }
        let xml = try XMLElement.document(body, root: "CORSConfiguration")
        let rules = xml.all("CORSRule")
        guard !rules.isEmpty else { throw .malformedXML("a CORSConfiguration needs at least one CORSRule") }
        guard rules.count <= rulesMax else {
            throw .malformedXML("a CORSConfiguration has at most \(rulesMax) rules, not \(rules.count)")
        }
        var out: [CORSRule] = []
        for rule in rules {
            let origins = rule.all("AllowedOrigin").map(\.value)
            let methods = rule.all("AllowedMethod").map(\.value)
            guard !origins.isEmpty, !methods.isEmpty else {
                throw .malformedXML("every CORSRule needs an AllowedOrigin and an AllowedMethod")
            }
            if let bad = methods.first(where: { !CORS.methods.contains($0) }) {
                throw .invalidRequest("Found unsupported HTTP method in CORS config. Unsupported method is \(bad)")
            }
            let headers = rule.all("AllowedHeader").map { $0.value.lowercased() }
            for origin in origins where origin.count(where: { $0 == "*" }) > 1 {
                throw .invalidRequest("AllowedOrigin \"\(origin)\" can not have more than one wildcard.")
            }
            for header in headers where header.count(where: { $0 == "*" }) > 1 {
                throw .invalidRequest("AllowedHeader \"\(header)\" can not have more than one wildcard.")
            }
            var maxAge: Int?
            if let text = rule.child("MaxAgeSeconds")?.value {
                guard let seconds = Int(text), seconds >= 0 else {
                    throw .malformedXML("MaxAgeSeconds must be a whole number of seconds, not '\(text)'")
                }
                maxAge = seconds
            }
            out.append(
                CORSRule(
                    id: rule.child("ID")?.value, allowedOrigins: origins, allowedMethods: methods,
                    allowedHeaders: headers, exposeHeaders: rule.all("ExposeHeader").map(\.value),
                    maxAgeSeconds: maxAge))
        }
        return out
    }

    static func document(_ rules: [CORSRule]?) -> String {
        var w = XMLWriter()
        w.open("CORSConfiguration", namespace: true)
        for rule in rules ?? [] {
            w.open("CORSRule")
            if let id = rule.id { w.element("ID", id) }
            for o in rule.allowedOrigins { w.element("AllowedOrigin", o) }
            for m in rule.allowedMethods { w.element("AllowedMethod", m) }
            for h in rule.allowedHeaders { w.element("AllowedHeader", h) }
            for h in rule.exposeHeaders { w.element("ExposeHeader", h) }
            if let age = rule.maxAgeSeconds { w.element("MaxAgeSeconds", String(age)) }
            w.close("CORSRule")
        }
        w.close("CORSConfiguration")
        return w.document
    }

    /// The first rule allowing `origin` to use `method` with every one of `headers` (lower case).
    static func rule(
        in rules: [CORSRule], origin: String, method: String, headers: [String] = []
    ) -> CORSRule? {
        rules.first { rule in
            rule.allowedOrigins.contains { Wildcard.matches($0, origin) } && rule.allowedMethods.contains(method)
                && headers.allSatisfy { h in rule.allowedHeaders.contains { Wildcard.matches($0, h) } }
        }
    }

    /// The `Access-Control-*` headers answering `origin` under `rule` (`requestedHeaders`: a preflight's).
    static func headers(_ rule: CORSRule, origin: String, requestedHeaders: [String]? = nil) -> HTTPHeaders {
        var h = HTTPHeaders()
        if rule.allowedOrigins.contains("*") {
            h.add("Access-Control-Allow-Origin", "*")
        } else {
            h.add("Access-Control-Allow-Origin", origin)
            h.add("Access-Control-Allow-Credentials", "true")
        }
        h.add("Access-Control-Allow-Methods", rule.allowedMethods.joined(separator: ", "))
        if let requestedHeaders, !requestedHeaders.isEmpty {
            h.add("Access-Control-Allow-Headers", requestedHeaders.joined(separator: ", "))
        }
        if !rule.exposeHeaders.isEmpty {
            h.add("Access-Control-Expose-Headers", rule.exposeHeaders.joined(separator: ", "))
        }
        if let age = rule.maxAgeSeconds { h.add("Access-Control-Max-Age", String(age)) }
        h.add("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
        return h
    }

    /// The header names of a preflight's `Access-Control-Request-Headers`, lower case.
    static func requestedHeaders(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingCharacters().lowercased() }
            .filter { !$0.isEmpty }
    }
}
