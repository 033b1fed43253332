"""Hostile and broken clients against a running node: it answers with a clear 4xx, closes, never
crashes, and its memory stays bounded."""

import http.client
import json
import resource
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import Cluster, process_alive, rss_kib, wait_until


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("hostile"))
    try:
        c.up(1)
        yield c
    finally:
        c.cleanup()


def exchange(port, data, timeout=15, pause_after=None):
    """Sends `data`, reads until the server closes (or the timeout), returns the bytes received."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received
    finally:
        s.close()


def s3_client(node):
    r = node.record()
    return boto3.client(
        "s3", endpoint_url=node.endpoint("node1"), aws_access_key_id=r["accessKey"],
        aws_secret_access_key=r["secretKey"], region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def bucket(node):
    s3_client(node).create_bucket(Bucket="hostile")
    return "hostile"


def signed_put_head(node, path, content_length):
    """The head of a SigV4-signed PUT with an unsigned payload, as the raw bytes a socket sends."""
    r = node.record()
    host = f"127.0.0.1:{node.port('node1')}"
    request = AWSRequest(method="PUT", url=f"http://{host}{path}", headers={
        "Host": host, "Content-Length": str(content_length), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials(r["accessKey"], r["secretKey"]), "s3", "us-east-1").add_auth(request)
    lines = [f"PUT {path} HTTP/1.1", *(f"{name}: {value}" for name, value in request.headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stored(s3, bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except botocore.exceptions.ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
        return False


def open_connections(node):
    """The node's own count of its open HTTP connections (this status request's included)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port("node1"), timeout=10)
    try:
        conn.request("GET", "/_dc/v1/status", headers=node.signed_headers("GET", "/_dc/v1/status"))
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())["http"]["connections"]
    finally:
        conn.close()


def fd_limit(pid):
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError(f"no open-file limit for pid {pid}")


def healthy(node):
    r = exchange(node.port("node1"), b"GET /minio/health/live HTTP/1.1\r\nConnection: close\r\n\r\n", timeout=5)
    return r.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("data,status", [
    (bytes(range(256)) * 4, b"400"),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 100, b"400"),  # a TLS ClientHello on the plain port
    (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n", b"431"),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10_000)) + b"\r\n", b"431"),
    (b"GET /\x00 HTTP/1.1\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\nX-Nul: a\x00b\r\n\r\n", b"400"),
    (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"400"),
    (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400"),
    (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", b"400"),
    (b"PUT /b/k HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n", b"400"),  # S3: EntityTooLarge is 400
    (b"GET / HTTP/9.9\r\n\r\n", b"505"),
], ids=["binary", "tls-hello", "big-header", "header-flood", "nul-in-target", "nul-in-header", "length-and-chunked",
        "negative-length", "two-lengths", "huge-length", "http-9.9"])
# (Short ids: pytest puts the test's id in PYTEST_CURRENT_TEST, and an environment variable over 128 KiB
# makes every process the test starts fail with E2BIG.)
def test_malformed_requests_get_a_clear_status_and_a_close(node, data, status):
    reply = exchange(node.port("node1"), data)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:200]
    assert b"Connection: close" in reply
    assert healthy(node)


COMMIT_WITH_SHARD = "/_dc/v1/storage/commit/locked/shard"


@pytest.mark.parametrize("body,why", [
    (b"", "needs a length"),
    (b"\x00\x00", "needs a length"),
    (b"\x00\x00\x00\x40" + b"x" * 20, "a commit request of 64 bytes in a body of 24"),
    (b"\x00\x02\x00\x00" + b"x" * 200_000, "a commit request of 131072 bytes"),
    (b"\x00\x00\x00\x05hello" + b"shard" * 100, "malformed storage request"),
], ids=["empty", "short", "head-past-body", "head-too-long", "garbage-head"])
def test_a_malformed_commit_with_a_shard_is_refused_naming_what_is_wrong(node, body, why):
    """The internode call that carries a one-block object's shard with its commit, signed but broken:
    a 400 that says what is wrong, and the node serves on."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port("node1"), timeout=10)
    try:
        conn.request("POST", COMMIT_WITH_SHARD, body=body, headers=node.signed_headers("POST", COMMIT_WITH_SHARD, body=body))
        response = conn.getresponse()
        text = response.read().decode()
        assert response.status == 400 and why in text, (response.status, text)
    finally:
        conn.close()
    assert healthy(node)


def test_a_slowloris_client_is_cut_off_after_the_header_timeout(node):
    s = socket.create_connection(("127.0.0.1", node.port("node1")), timeout=20)
    start = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\n")
    reply = b""
    try:
        for i in range(40):  # one header byte every half second: never finishing
            s.sendall(b"X")
            time.sleep(0.5)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while chunk := s.recv(65536):
            reply += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    elapsed = time.monotonic() - start
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert elapsed < 15  # the header timeout is 10 s
    assert healthy(node)


def test_a_body_shorter_than_its_content_length_loses_nothing_and_harms_nothing(node, bucket):
    # Signed, so the node accepts the request and reads its body; the client then stops 990 bytes short.
    s = socket.create_connection(("127.0.0.1", node.port("node1")), timeout=10)
    s.sendall(signed_put_head(node, f"/{bucket}/short", 1000) + b"x" * 10)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    try:
        while chunk := s.recv(65536):
            reply += chunk
    except ConnectionResetError:
        pass
    s.close()
    assert reply.startswith(b"HTTP/1.1 400"), reply[:300]
    assert b"<Code>IncompleteBody</Code>" in reply
    assert b"Connection: close" in reply
    assert not stored(s3_client(node), bucket, "short")
    assert healthy(node)


def test_a_client_that_asks_to_continue_then_sends_nothing_gets_request_timeout(node, bucket):
    """Expect: 100-continue, the go-ahead, then silence: after the body idle timeout (30 s) S3's answer,
    400 RequestTimeout, and nothing stored."""
    head = signed_put_head(node, f"/{bucket}/silent", 100).replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    s = socket.create_connection(("127.0.0.1", node.port("node1")), timeout=45)
    s.sendall(head)
    reply = b""
    started = time.monotonic()
    try:
        while chunk := s.recv(65536):
            reply += chunk
            if b"</Error>" in reply:
                break
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert reply.startswith(b"HTTP/1.1 100 Continue"), reply[:200]
    assert b"HTTP/1.1 400" in reply and b"<Code>RequestTimeout</Code>" in reply, reply[:600]
    assert 25 < time.monotonic() - started < 45
    assert not stored(s3_client(node), bucket, "silent")
    assert healthy(node)


def test_a_large_body_the_server_does_not_want_still_gets_the_answer_not_a_reset(node):
    # An unsigned PUT is refused at once without reading; the client is still sending 8 MiB.
    s = socket.create_connection(("127.0.0.1", node.port("node1")), timeout=10)
    s.sendall(b"PUT /bucket/key HTTP/1.1\r\nContent-Length: 8388608\r\n\r\n")
    sent = 0
    try:
        while sent < 8 << 20:
            sent += s.send(b"y" * 65536)
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = b""
    try:
        while chunk := s.recv(65536):
            reply += chunk
    except ConnectionResetError:
        pass
    s.close()
    assert reply.startswith(b"HTTP/1.1 403"), reply[:200]
    assert b"<Code>AccessDenied</Code>" in reply


def test_a_thousand_pipelined_requests_get_a_thousand_answers_in_order(node):
    requests = b"".join(b"GET /minio/health/live?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(999))
    requests += b"GET /minio/health/live HTTP/1.1\r\nConnection: close\r\n\r\n"
    reply = exchange(node.port("node1"), requests)
    assert reply.count(b"HTTP/1.1 200 OK") == 1000


def test_a_thousand_dropped_connections_leave_the_node_serving_with_bounded_memory(node):
    pid = node.pid("node1")
    port = node.port("node1")
    before = rss_kib(pid)
    for i in range(1000):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        kind = i % 4
        if kind == 1:
            s.sendall(b"GET / HTTP/1.1\r\nHost: half")
        elif kind == 2:
            s.sendall(b"PUT /b/k HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"z" * 1000)
        elif kind == 3:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
            s.sendall(b"GET /minio/health/live HTTP/1.1\r\n\r\n")
        s.close()
    assert healthy(node)
    assert process_alive(pid)
    time.sleep(0.5)
    grown = rss_kib(pid) - before
    assert grown < 16 * 1024, f"RSS grew by {grown} KiB"
    assert '"level":"error"' not in node.log("node1")


def test_hundreds_of_connections_held_at_once_then_dropped_leave_the_node_serving_with_bounded_memory(node, bucket):
    pid = node.pid("node1")
    port = node.port("node1")
    # Under the node's connection limit (1024) and both processes' descriptor limits, with room to spare.
    ours = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    count = min(500, ours - 64, fd_limit(pid) - 64)
    if count < 100:
        pytest.skip(f"the open-file limit is too low to hold 100 connections (ulimit -n {ours})")
    before_rss = rss_kib(pid)
    before = open_connections(node)

    def open_one(i):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        kind = i % 5
        if kind == 1:
            s.sendall(b"GET / HTTP/1.1\r\nHost: half")  # a head never finished
        elif kind == 2:
            s.sendall(b"GET /minio/health/live HTTP/1.1\r\nHost: x\r\n\r\n")  # a whole request, answered; then an idle keep-alive connection
        elif kind == 3:
            s.sendall(signed_put_head(node, f"/{bucket}/held-{i}", 100_000) + b"z" * 1000)  # mid-body
        elif kind == 4:
            s.sendall(b"PUT /b/k HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")  # refused, still lingering
        return s

    with ThreadPoolExecutor(max_workers=32) as pool:
        sockets = list(pool.map(open_one, range(count)))
    try:
        # All of them open in the node at once (the refused PUTs may already be gone), and it still serves.
        wait_until(lambda: open_connections(node) >= before + count * 4 // 5, timeout=10, message="connections held")
        assert healthy(node)
    finally:
        for i, s in enumerate(sockets):
            if i % 3 == 0:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
            s.close()
    # Every dropped connection is noticed and freed, not left to its timeout.
    wait_until(lambda: open_connections(node) <= before, timeout=5, message="dropped connections freed")
    assert healthy(node)
    assert process_alive(pid)
    s3 = s3_client(node)
    assert not any(stored(s3, bucket, f"held-{i}") for i in range(3, count, 5))
    time.sleep(0.5)
    grown = rss_kib(pid) - before_rss
    assert grown < 16 * 1024, f"RSS grew by {grown} KiB"
    assert '"level":"error"' not in node.log("node1")


def test_guessing_the_dashboard_login_is_throttled_per_address(node):
    """Five wrong logins from one address lock it out (429, Retry-After) for 30 s, the right key too,
    and the same for HTTP Basic auth; each refusal is logged. (This cluster's dashboard is used by no
    other test of this module.)"""
    port = node.port("node1")

    def post_login(secret):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request("POST", "/_dc/ui/login", body=f"accessKey=minioadmin&secretKey={secret}",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            return r.status, r.getheader("Retry-After"), r.read().decode()
        finally:
            c.close()

    for _ in range(4):
        assert post_login("guess")[0] == 401
    status, retry, text = post_login("guess")
    assert status == 429 and retry == "30" and "try again in" in text, (status, retry)
    status, retry, _ = post_login("minioadmin")
    assert status == 429 and 1 <= int(retry) <= 30, "the right key waits out the lockout too"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/_dc/metrics", headers={"Authorization": "Basic bWluaW9hZG1pbjptaW5pb2FkbWlu"})
    assert c.getresponse().status == 401, "Basic auth from a locked-out address is refused"
    c.close()
    refusals = [line for line in node.log("node1").splitlines() if "dashboard login refused" in line]
    assert len(refusals) == 5 and sum("lockedOutFor" in line for line in refusals) == 1, refusals


@pytest.mark.parametrize("expires", ["99999999999999999", "-99999999999999999", "9223372036854775807"])
def test_a_presigned_v2_url_with_a_hostile_expiry_is_refused_not_a_crash(node, bucket, expires):
    """Found by make fuzz: a SigV2 presigned URL whose Expires overflowed as milliseconds crashed the
    node. The access key is public knowledge (minioadmin by default), so anyone could have."""
    c = http.client.HTTPConnection("127.0.0.1", node.port("node1"), timeout=10)
    try:
        c.request("GET", f"/{bucket}/anything?AWSAccessKeyId=minioadmin&Expires={expires}&Signature=abc%3D")
        response = c.getresponse()
        body = response.read()
    finally:
        c.close()
    assert response.status == 403 and b"<Error>" in body, (response.status, body[:300])
    assert healthy(node)
