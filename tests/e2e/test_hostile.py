"""Hostile and broken clients against a running node: it answers with a clear 4xx, closes, never
crashes, and its memory stays bounded."""

import socket
import struct
import time

import pytest

from conftest import Cluster, process_alive, rss_kib


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("hostile"))
    c.up(1)
    yield c
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
    (b"PUT /b/k HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n", b"413"),
    (b"GET / HTTP/9.9\r\n\r\n", b"505"),
])
def test_malformed_requests_get_a_clear_status_and_a_close(node, data, status):
    reply = exchange(node.port("node1"), data)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:200]
    assert b"Connection: close" in reply
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


def test_a_body_shorter_than_its_content_length_loses_nothing_and_harms_nothing(node):
    s = socket.create_connection(("127.0.0.1", node.port("node1")), timeout=5)
    s.sendall(b"PUT /bucket/key HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
    s.shutdown(socket.SHUT_WR)
    try:
        s.recv(65536)
    except ConnectionResetError:
        pass
    s.close()
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
