"""Seeing the cluster: the dashboard in a real headless browser, the SSE event stream, `devcluster
watch` under a pseudo-terminal, the Prometheus endpoint through a real parser, and bucket
notifications to a real webhook receiver."""

import base64
import http.server
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import DEVCLUSTER, Cluster, free_base_port, wait_until
from test_s3 import s3_client

ARTIFACTS = Path(os.environ.get("DEVCLUSTER_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
BASIC = "Basic " + base64.b64encode(b"minioadmin:minioadmin").decode()


def get(url, headers=None, timeout=10):
    """(status, headers, body) of a GET, without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# ---------------------------------------------------------------- access


def test_browser_landing_redirects_and_everything_needs_credentials(running):
    base = running.endpoint("node1")
    status, headers, _ = get(base + "/", {"Accept": "text/html,application/xhtml+xml"})
    assert status == 302 and headers["Location"] == "/_dc/ui/"
    # An S3 client asking for / without credentials still gets S3's answer, not a page.
    status, _, body = get(base + "/")
    assert status == 403 and b"AccessDenied" in body
    # Without a session: the login form, and 401 from the JSON, the stream and the metrics.
    status, _, body = get(base + "/_dc/ui/")
    assert status == 200 and b'id="login"' in body and b"node1" not in body.split(b"<form")[0]
    for path in ["/_dc/ui/api/cluster", "/_dc/ui/api/shards?bucket=a&key=b", "/_dc/events", "/_dc/metrics"]:
        assert get(base + path)[0] == 401, path
    wrong = "Basic " + base64.b64encode(b"minioadmin:not-the-secret").decode()
    assert get(base + "/_dc/metrics", {"Authorization": wrong})[0] == 401
    # A forged session cookie is refused too.
    assert get(base + "/_dc/ui/api/cluster", {"Cookie": "dc_session=v2.0123456789abcdef.99999999999999.00"})[0] == 401


def login(base):
    """A session cookie from the login form, as a browser would post it."""
    data = b"accessKey=minioadmin&secretKey=minioadmin"
    request = urllib.request.Request(base + "/_dc/ui/login", data=data, method="POST")
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
        raise AssertionError("login did not redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 303, e.read()
        cookie = e.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return cookie.split(";")[0]


def test_login_form_and_session(running):
    base = running.endpoint("node1")
    bad = urllib.request.Request(base + "/_dc/ui/login", data=b"accessKey=minioadmin&secretKey=nope", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad, timeout=10)
    assert e.value.code == 401 and b"not this cluster" in e.value.read()
    cookie = login(base)
    status, _, body = get(base + "/_dc/ui/api/cluster", {"Cookie": cookie})
    view = json.loads(body)
    assert status == 200 and view["node"] == "node1" and len(view["statuses"]) == 4
    # Every node of the deployment takes the same session.
    assert get(running.endpoint("node3") + "/_dc/ui/api/cluster", {"Cookie": cookie})[0] == 200


def logout(base, cookie):
    request = urllib.request.Request(base + "/_dc/ui/logout", data=b"", method="POST", headers={"Cookie": cookie})
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert e.value.code == 303


def test_logging_out_revokes_the_session_on_every_node_even_one_down_meanwhile(running):
    """A logged-out session cookie is refused by every node, at once by those up, by a node that was
    down then once it is back (it asks its peers), and after restarts (each node keeps the list).
    Another session stays valid."""
    api = lambda node: running.endpoint(node) + "/_dc/ui/api/cluster"
    first, second, kept = login(running.endpoint("node1")), login(running.endpoint("node2")), login(running.endpoint("node2"))
    assert len({first, second, kept}) == 3  # each login is a session of its own
    logout(running.endpoint("node1"), first)
    wait_until(lambda: all(get(api(n), {"Cookie": first})[0] == 401 for n in ("node1", "node2", "node3", "node4")), 5,
               message="the session refused everywhere")
    running.run("stop", "node4")
    logout(running.endpoint("node3"), second)
    assert get(api("node2"), {"Cookie": second})[0] == 401
    running.run("start", "node4")
    wait_until(lambda: get(api("node4"), {"Cookie": second})[0] == 401, 10, message="node4 caught up")
    running.run("restart", "node1")
    assert get(api("node1"), {"Cookie": first})[0] == 401 and get(api("node1"), {"Cookie": second})[0] == 401
    assert all(get(api(n), {"Cookie": kept})[0] == 200 for n in ("node1", "node2", "node3", "node4"))


# ---------------------------------------------------------------- shard map


def test_shard_map_shows_each_shard_and_finds_damage(running):
    base = running.endpoint("node1")
    s3 = s3_client(base)
    s3.create_bucket(Bucket="photos")
    body = os.urandom(3 << 20)
    s3.put_object(Bucket="photos", Key="cat.jpg", Body=body)
    cookie = login(base)

    def shard_map():
        status, _, raw = get(base + "/_dc/ui/api/shards?bucket=photos&key=cat.jpg", {"Cookie": cookie})
        assert status == 200, raw
        return json.loads(raw)

    m = shard_map()
    assert m["size"] == len(body) and m["readable"] and m["good"] == 4
    assert sorted(s["index"] for s in m["shards"]) == [0, 1, 2, 3]
    assert sorted(s["role"] for s in m["shards"]) == ["data", "data", "parity", "parity"]
    assert all(s["state"] == "ok" and s["bytes"] > len(body) // 2 for s in m["shards"])
    running.run("corrupt", "node3", "photos/cat.jpg")
    assert {s["node"]: s["state"] for s in shard_map()["shards"]}["node3"] == "corrupt"
    running.run("kill", "node4")
    wait_until(lambda: {s["node"]: s["state"] for s in shard_map()["shards"]}["node4"] == "unreachable", 10,
               message="node4 unreachable in the shard map")
    # Two of four shards good: still readable, and the read is byte-exact.
    assert shard_map()["good"] == 2 and shard_map()["readable"]
    assert s3.get_object(Bucket="photos", Key="cat.jpg")["Body"].read() == body
    status, _, raw = get(base + "/_dc/ui/api/shards?bucket=photos&key=nope", {"Cookie": cookie})
    assert status == 404 and b"no object" in raw


# ---------------------------------------------------------------- events stream


def read_sse(response, until, timeout):
    """Events (parsed data) read from an open SSE response until `until(events)` or the timeout."""
    events, buffer = [], b""
    sock = response.fp.raw._sock if hasattr(response.fp, "raw") else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(events):
        line = response.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            events.append(json.loads(line[6:]))
    return events


def test_event_stream_is_live_and_resumable(running):
    base = running.endpoint("node1")
    request = urllib.request.Request(base + "/_dc/events", headers={"Authorization": BASIC})
    with urllib.request.urlopen(request, timeout=15) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        backlog = read_sse(r, lambda ev: any(e["event"] == "node_started" for e in ev), 5)
        assert any(e["event"] == "node_started" and e["node"] == "node1" for e in backlog)
        running.run("kill", "node2")
        live = read_sse(r, lambda ev: any(e["event"] == "node_offline" and e.get("peer") == "node2" for e in ev), 10)
        offline = [e for e in live if e["event"] == "node_offline"]
        assert offline and offline[0]["peer"] == "node2"
        last = max(e["seq"] for e in backlog + live)
    # A reconnecting client names the last event it saw and gets only newer ones.
    request = urllib.request.Request(base + "/_dc/events", headers={"Authorization": BASIC, "Last-Event-ID": str(last)})
    running.run("start", "node2")
    with urllib.request.urlopen(request, timeout=15) as r:
        after = read_sse(r, lambda ev: any(e["event"] == "node_online" for e in ev), 10)
        assert after and all(e["seq"] > last for e in after)


def output_until(p, done, timeout):
    """What a process has written to its stdout pipe, read unbuffered until `done(text)` or the timeout."""
    text = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(text):
        ready, _, _ = select.select([p.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            text += chunk.decode(errors="replace")
    return text


def test_events_follow_merges_every_node(running):
    p = subprocess.Popen([str(DEVCLUSTER), "events", "-f", "--name", running.name], env=running.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        output_until(p, lambda t: "node_started" in t, 5)
        running.run("kill", "node3")

        def reporters(text):
            return {line.split()[1] for line in text.splitlines() if "node_offline" in line and "node3" in line}
        text = output_until(p, lambda t: len(reporters(t)) >= 3, 10)
        # Each survivor's own report, in one merged stream, in time order.
        assert reporters(text) == {"node1", "node2", "node4"}, text
        times = [line.split()[0] for line in text.splitlines() if line.strip()]
        assert times == sorted(times), text
    finally:
        p.kill()
        p.wait()


# ---------------------------------------------------------------- metrics


def scrape(base):
    from prometheus_client.parser import text_string_to_metric_families
    status, headers, body = get(base + "/_dc/metrics", {"Authorization": BASIC})
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def test_metrics_parse_and_move(running):
    base = running.endpoint("node1")
    before = scrape(base)
    assert value(before, "devcluster_peers_online") == 4
    assert value(before, "devcluster_peer_state", peer="node2") == 0
    assert value(before, "devcluster_disk_free_bytes") > 0
    s3 = s3_client(base)
    s3.create_bucket(Bucket="metrics")
    for i in range(5):
        s3.put_object(Bucket="metrics", Key=f"k{i}", Body=b"x" * 1000)
    s3.get_object(Bucket="metrics", Key="k0")["Body"].read()
    with pytest.raises(Exception):
        s3.get_object(Bucket="metrics", Key="missing")
    after = scrape(base)
    assert value(after, "devcluster_s3_requests_total", operation="PutObject", status="200") == 5
    assert value(after, "devcluster_s3_requests_total", operation="GetObject", status="404") == 1
    assert value(after, "devcluster_s3_request_duration_seconds_count", operation="PutObject") == 5
    assert value(after, "devcluster_s3_request_duration_seconds_bucket", operation="PutObject", le="+Inf") == 5
    assert value(after, "devcluster_s3_received_bytes_total") >= 5000
    assert value(after, "devcluster_s3_sent_bytes_total") >= 1000
    running.run("kill", "node2")
    wait_until(lambda: value(scrape(base), "devcluster_peer_state", peer="node2") == 2, 10,
               message="node2 offline in the metrics")
    final = scrape(base)
    assert value(final, "devcluster_peers_online") == 3
    assert value(final, "devcluster_events_total", event="node_offline") >= 1
    assert value(final, "devcluster_peer_heartbeat_age_seconds", peer="node2") > 0.5


# ---------------------------------------------------------------- webhooks


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every POSTed body."""

    def __init__(self, port):
        records = self.records = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                records.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_gets_s3_records_and_a_down_webhook_blocks_nothing(tmp_path):
    port = free_base_port(1)
    c = Cluster(tmp_path)
    receiver = None
    try:
        c.up(4, "--webhook", f"http://127.0.0.1:{port}/events")
        s3 = s3_client(c.endpoint("node2"))
        # The receiver is down: every request still succeeds, and quickly.
        t0 = time.monotonic()
        s3.create_bucket(Bucket="hooks")
        s3.put_object(Bucket="hooks", Key="early.txt", Body=b"e")
        assert time.monotonic() - t0 < 5
        receiver = Receiver(port)
        s3.put_object(Bucket="hooks", Key="dir/a b.txt", Body=b"hello")
        s3.delete_object(Bucket="hooks", Key="dir/a b.txt")

        def names():
            return [(r["EventName"], r["Key"]) for r in receiver.records]
        wait_until(lambda: ("s3:ObjectRemoved:Delete", "hooks/dir/a b.txt") in names(), 15,
                   message="the delete's record at the webhook")
        put = next(r for r in receiver.records if r["EventName"] == "s3:ObjectCreated:Put" and r["Key"] == "hooks/dir/a b.txt")
        record = put["Records"][0]
        assert record["eventSource"] == "minio:s3" and record["eventName"] == "s3:ObjectCreated:Put"
        assert record["s3"]["bucket"]["name"] == "hooks"
        assert record["s3"]["object"]["key"] == "dir/a+b.txt"  # form-encoded, as S3 sends it
        assert record["s3"]["object"]["size"] == 5
        assert record["s3"]["object"]["eTag"] == "5d41402abc4b2a76b9719d911017c592"
        assert record["awsRegion"] == "us-east-1" and "eventTime" in record
        # The write made while the receiver was down arrives too (retried with back-off).
        wait_until(lambda: ("s3:ObjectCreated:Put", "hooks/early.txt") in names(), 20,
                   message="the early write's record, retried")
        # The node that took the writes counts them as delivered.
        samples = scrape(c.endpoint("node2"))
        assert value(samples, "devcluster_webhook_delivered_events", webhook="1") >= 3
        assert value(samples, "devcluster_webhook_dropped_events", webhook="1") == 0
    finally:
        if receiver:
            receiver.close()
        c.cleanup()


# ---------------------------------------------------------------- watch


def screen_of(fd, seconds):
    """What a program wrote to its pseudo-terminal over `seconds`."""
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out.decode(errors="replace")


def last_frame(text):
    """The last whole frame: the one before the frame still being drawn when the reading stopped."""
    frames = text.split("\x1b[H")
    return frames[-2] if len(frames) > 2 else frames[-1]


def frame_until(fd, predicate, timeout):
    """Reads the terminal until a whole frame satisfies `predicate` (or `timeout`); answers that frame,
    else the last whole one."""
    out = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out += screen_of(fd, 0.3)
        frames = out.split("\x1b[H")[1:-1]
        for frame in frames:
            if predicate(frame):
                return frame
    return last_frame(out)


def test_watch_redraws_in_place_on_a_terminal(running):
    pid, fd = pty.fork()
    if pid == 0:
        env = dict(running.env, TERM="xterm", COLUMNS="160", LINES="50")
        os.execve(str(DEVCLUSTER), [str(DEVCLUSTER), "watch", "--name", running.name, "--interval", "200ms"], env)
    try:
        first = screen_of(fd, 2)
        assert "\x1b[?25l" in first  # the cursor hidden while it draws
        frame = last_frame(first)
        for node in ["node1", "node2", "node3", "node4"]:
            assert node in frame, frame
        assert "online" in frame and "latest events" in frame
        running.run("kill", "node2")
        later = frame_until(fd, lambda f: "node_offline" in f and "node2" in f, 15)
        assert "node_offline" in later and "node2" in later, later
        row = next(line for line in later.splitlines() if line.strip().startswith("node2"))
        assert "killed" in row or "offline" in row or "down" in row, row
    finally:
        os.kill(pid, 2)
        rest = screen_of(fd, 1)
        os.waitpid(pid, 0)
        os.close(fd)
    assert "\x1b[?25h" in rest  # Ctrl-C gives the cursor back


def test_watch_prints_plain_lines_when_not_a_terminal(running):
    p = subprocess.Popen([str(DEVCLUSTER), "watch", "--name", running.name, "--interval", "200ms"], env=running.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = output_until(p, lambda t: "node4=" in t, 5)
        running.run("kill", "node4")
        out = first + output_until(p, lambda t: "node_offline" in t and "node4=killed" in t, 10)
    finally:
        p.kill()
        p.wait()
    assert "\x1b[" not in out
    assert "node_offline" in out and "node4=" in out, out


# ---------------------------------------------------------------- the dashboard, in a browser


def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                "--disable-gpu", "--no-first-run"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    driver_path = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    return webdriver.Chrome(options=options, service=Service(driver_path))


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_dashboard_in_a_headless_browser(running):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base = running.endpoint("node1")
    s3 = s3_client(base)
    s3.create_bucket(Bucket="photos")
    s3.put_object(Bucket="photos", Key="cat.jpg", Body=os.urandom(2 << 20))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = chrome()
    try:
        # The page redraws its tables every second: an element found may be replaced before it is read.
        wait = WebDriverWait(driver, 15, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])
        driver.get(base + "/")  # the root URL: redirected to the dashboard's login
        wait.until(lambda d: d.find_elements(By.ID, "login"))
        assert driver.current_url.endswith("/_dc/ui/")
        driver.find_element(By.ID, "accessKey").send_keys("minioadmin")
        driver.find_element(By.ID, "secretKey").send_keys("minioadmin")
        driver.find_element(By.ID, "login-button").click()

        def states(d):
            return d.execute_script(
                "return Object.fromEntries([...document.querySelectorAll('#nodes tbody tr')]"
                ".map((r) => [r.dataset.node, r.querySelector('.state').textContent]))")
        wait.until(lambda d: states(d) == {f"node{i}": "online" for i in range(1, 5)})
        wait.until(lambda d: d.find_element(By.ID, "stream-state").text == "live")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#events li[data-event=node_started]"))
        assert "4/4 online" in driver.find_element(By.ID, "summary").text
        # Every node sees the 3 others online.
        wait.until(lambda d: d.execute_script("return document.querySelectorAll('#matrix td.online').length") == 12)

        # The shard map of the object just uploaded.
        wait.until(lambda d: "photos" in [o.text for o in d.find_elements(By.CSS_SELECTOR, "#bucket option")])
        Select(driver.find_element(By.ID, "bucket")).select_by_visible_text("photos")
        driver.find_element(By.ID, "key").send_keys("cat.jpg")
        driver.find_element(By.CSS_SELECTOR, "#shard-form button").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#shard-table tr[data-node]")) == 4)
        cells = driver.execute_script(
            "return [...document.querySelectorAll('#shard-table tr[data-node] .state')].map((c) => c.textContent)")
        assert cells == ["ok"] * 4

        # Kill a node: the page shows it offline within a few seconds, without a reload.
        killed_at = time.monotonic()
        running.run("kill", "node2")
        wait.until(lambda d: states(d).get("node2") == "offline")
        took = time.monotonic() - killed_at
        assert took < 8, f"node2 shown offline after {took:.1f}s"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#events li[data-event=node_offline]"))
        driver.find_element(By.CSS_SELECTOR, "#shard-form button").click()
        wait.until(lambda d: "unreachable" in d.find_element(By.ID, "shard-table").text)
        driver.save_screenshot(str(ARTIFACTS / "dashboard-node2-killed.png"))
        errors = console_errors(driver)
        assert not errors, errors
    finally:
        driver.quit()
