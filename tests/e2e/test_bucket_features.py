"""Bucket features applications use, through real clients against real nodes: CORS (with a page in
headless Chromium that uploads from another origin), policies and anonymous access, canned ACLs,
browser form uploads (presigned POST), lifecycle, object lock and per-bucket notifications."""

import http.server
import threading

import pytest
import requests

from conftest import four_nodes, free_base_port, s3_error, wait_until
from test_s3 import s3_client


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with four_nodes(tmp_path_factory.mktemp("features"), "web") as c:
        yield c


# ---------------------------------------------------------------- CORS

RULES = {"CORSRules": [
    {"ID": "app", "AllowedOrigins": ["http://localhost:3000", "http://127.0.0.1:*"], "AllowedMethods": ["GET", "PUT", "HEAD"],
     "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag", "x-amz-version-id"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]}


def test_cors_configuration_round_trips_and_is_removed(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="cors-conf")
    assert s3_error(lambda: s3.get_bucket_cors(Bucket="cors-conf")) == ("NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket="cors-conf", CORSConfiguration=RULES)
    # Every node answers it at once, not only the one that took it.
    for node in ("node1", "node2", "node3", "node4"):
        got = s3_client(store.endpoint(node)).get_bucket_cors(Bucket="cors-conf")["CORSRules"]
        assert got[0]["AllowedOrigins"] == RULES["CORSRules"][0]["AllowedOrigins"]
        assert got[0]["ExposeHeaders"] == ["ETag", "x-amz-version-id"] and got[0]["MaxAgeSeconds"] == 600
        assert got[1] == {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}
    s3.delete_bucket_cors(Bucket="cors-conf")
    assert s3_error(lambda: s3_client(store.endpoint("node3")).get_bucket_cors(Bucket="cors-conf"))[0] == "NoSuchCORSConfiguration"


def test_a_bad_cors_configuration_is_refused_and_changes_nothing(store):
    s3 = s3_client(store.endpoint("node2"))
    s3.create_bucket(Bucket="cors-bad")
    s3.put_bucket_cors(Bucket="cors-bad", CORSConfiguration=RULES)
    bad_method = {"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}
    assert s3_error(lambda: s3.put_bucket_cors(Bucket="cors-bad", CORSConfiguration=bad_method)) == ("InvalidRequest", 400)
    two_stars = {"CORSRules": [{"AllowedOrigins": ["http://*.*.example"], "AllowedMethods": ["GET"]}]}
    assert s3_error(lambda: s3.put_bucket_cors(Bucket="cors-bad", CORSConfiguration=two_stars)) == ("InvalidRequest", 400)
    url = store.endpoint("node2") + "/cors-bad?cors"
    r = signed(s3, "PUT", url, b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>")
    assert r.status_code == 400 and b"MalformedXML" in r.content
    assert len(s3.get_bucket_cors(Bucket="cors-bad")["CORSRules"]) == 2


def signed(s3, method, url, body=b"", headers=None):
    """A request signed with the client's credentials (for bodies boto3 would not send)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    S3SigV4Auth(s3._request_signer._credentials, "s3", "us-east-1").add_auth(req)
    return requests.request(method, url, data=body, headers=dict(req.headers), timeout=30)


def test_preflight_and_cors_headers_follow_the_rules(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="cors-pre")
    s3.put_bucket_cors(Bucket="cors-pre", CORSConfiguration=RULES)
    s3.put_object(Bucket="cors-pre", Key="a.txt", Body=b"abc")
    url = store.endpoint("node4") + "/cors-pre/a.txt"
    ok = requests.options(url, headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PUT",
                                        "Access-Control-Request-Headers": "Content-Type, X-Amz-Meta-Owner"}, timeout=10)
    assert ok.status_code == 200, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert ok.headers["Access-Control-Allow-Credentials"] == "true"
    assert ok.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-meta-owner"
    assert "PUT" in ok.headers["Access-Control-Allow-Methods"] and ok.headers["Access-Control-Max-Age"] == "600"
    # Any origin may GET (the second rule), but not PUT; an unknown method or no Origin is a bad request.
    anyone = requests.options(url, headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}, timeout=10)
    assert anyone.status_code == 200 and anyone.headers["Access-Control-Allow-Origin"] == "*"
    refused = requests.options(url, headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "PUT"}, timeout=10)
    assert refused.status_code == 403 and b"AccessForbidden" in refused.content
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert requests.options(url, headers={"Access-Control-Request-Method": "GET"}, timeout=10).status_code == 400
    assert requests.options(url, headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "TRACE"}, timeout=10).status_code == 400
    # A signed request from a page gets the headers, errors included; one without Origin does not.
    presigned = s3.generate_presigned_url("get_object", Params={"Bucket": "cors-pre", "Key": "a.txt"})
    got = requests.get(presigned, headers={"Origin": "http://127.0.0.1:5173"}, timeout=10)
    assert got.content == b"abc" and got.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:5173"
    assert got.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-version-id"
    missing = s3.generate_presigned_url("get_object", Params={"Bucket": "cors-pre", "Key": "nothing"})
    gone = requests.get(missing, headers={"Origin": "http://localhost:3000"}, timeout=10)
    assert gone.status_code == 404 and gone.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Access-Control-Allow-Origin" not in requests.get(presigned, timeout=10).headers
    # No configuration: no preflight passes.
    s3.create_bucket(Bucket="cors-none")
    none = requests.options(store.endpoint("node1") + "/cors-none/x", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}, timeout=10)
    assert none.status_code == 403


class _Page(http.server.BaseHTTPRequestHandler):
    html = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args):
        pass


UPLOAD_PAGE = b"""<!doctype html><title>upload</title><script>
async function upload(putURL, getURL) {
  const put = await fetch(putURL, {method: 'PUT', body: 'made in a browser', headers: {'Content-Type': 'text/plain'}});
  const etag = put.headers.get('ETag');
  const got = await fetch(getURL);
  return {put: put.status, etag: etag, text: await got.text()};
}
async function attempt(url) {
  try { await fetch(url, {method: 'PUT', body: 'x', headers: {'Content-Type': 'text/plain'}}); return 'sent'; }
  catch (e) { return 'blocked: ' + e.name; }
}
</script>"""


def test_a_page_from_another_origin_uploads_and_reads_back_in_chromium(store):
    from test_observability import chrome
    s3 = s3_client(store.endpoint("node2"))
    s3.create_bucket(Bucket="cors-app")
    s3.create_bucket(Bucket="cors-closed")
    port = free_base_port(1)
    _Page.html = UPLOAD_PAGE
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{port}"
    s3.put_bucket_cors(Bucket="cors-app", CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": [origin], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"]}]})
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "cors-app", "Key": "from-page.txt", "ContentType": "text/plain"})
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "cors-app", "Key": "from-page.txt"})
    closed = s3.generate_presigned_url("put_object", Params={"Bucket": "cors-closed", "Key": "x", "ContentType": "text/plain"})
    driver = chrome()
    try:
        driver.set_script_timeout(20)
        driver.get(origin + "/")
        result = driver.execute_async_script(
            "upload(arguments[0], arguments[1]).then(arguments[2], (e) => arguments[2]({error: String(e)}))", put, get)
        assert result.get("put") == 200, result
        assert result["text"] == "made in a browser" and result["etag"].strip('"') == s3.head_object(Bucket="cors-app", Key="from-page.txt")["ETag"].strip('"')
        # A bucket without a rule for this origin: the browser blocks the request itself.
        blocked = driver.execute_async_script("attempt(arguments[0]).then(arguments[1])", closed)
        assert blocked.startswith("blocked"), blocked
        assert s3_error(lambda: s3.head_object(Bucket="cors-closed", Key="x"))[1] == 404
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
