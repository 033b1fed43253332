import Cluster
import HTTP
import Storage

extension S3Exchange {
    /// A browser's CORS preflight (`OPTIONS`): allowed when a rule of the bucket allows the origin, the
    /// method it asks for and every header it asks for; else 403 as S3 answers.
    func preflight() {
        let headers = request.head.headers
        guard let origin = headers["Origin"] else {
            return fail(S3Error("BadRequest", 400, "Insufficient information. Origin request header needed."))
        }
        guard let method = headers["Access-Control-Request-Method"], CORS.methods.contains(method) else {
            return fail(
                S3Error(
                    "BadRequest", 400,
                    "Invalid Access-Control-Request-Method: \(headers["Access-Control-Request-Method"] ?? "none")"))
        }
        let requested = CORS.requestedHeaders(headers["Access-Control-Request-Headers"])
        layer.requireBucket(s3.bucket) { [self] result in
            switch result {
            case .failure(let e): fail(e)
            case .success(let info):
                guard let rules = info.settings.cors?.value,
                    let rule = CORS.rule(in: rules, origin: origin, method: method, headers: requested)
                else {
                    return fail(
                        S3Error(
                            "AccessForbidden", 403,
                            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
                        ))
                }
                response.send(status: 200, headers: CORS.headers(rule, origin: origin, requestedHeaders: requested))
            }
        }
    }
}

extension S3API {
    /// Adds the `Access-Control-*` headers a request from a browser page (`Origin`) gets under the
    /// bucket's CORS rules, to every answer including errors, then goes on.
    func allowCrossOrigin(
        _ request: HTTPServerRequest, _ response: HTTPServerResponse, bucket: String, then next: @escaping () -> Void
    ) {
        guard let origin = request.head.headers["Origin"], !bucket.isEmpty else { return next() }
        layer.requireBucket(bucket) { result in
            if case .success(let info) = result, let rules = info.settings.cors?.value,
                let rule = CORS.rule(in: rules, origin: origin, method: request.head.method)
            {
                for (name, value) in CORS.headers(rule, origin: origin) { response.defaultHeaders.add(name, value) }
            }
            next()
        }
    }
}
