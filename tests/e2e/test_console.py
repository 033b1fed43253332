"""`devcluster ui`: the console the launcher serves. Its API refuses what lacks the session or the CSRF
token; in headless Chromium a user logs in, kills node2 with its button and sees node2's lane turn
offline in every other node's view, starts it again and sees it online, with a chart line per node;
the console keeps working
while a node it would have asked is down; and it stops cleanly on SIGTERM. Screenshots go to
artifacts/."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest

from conftest import DEVCLUSTER, wait_until
from test_observability import ARTIFACTS, chrome, console_errors
from test_s3 import s3_client


@pytest.fixture
def console(running):
    """(base URL, process) of `devcluster ui` for the running cluster, ended by its pid."""
    p = subprocess.Popen([str(DEVCLUSTER), "ui", "--no-open", "--name", running.name], env=running.env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, line
        yield match.group(1), p
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def call(url, data=None, headers=None, method=None):
    """(status, body text), without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as r:
            return r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


@contextmanager
def logged_in(base, timeout=20):
    """(driver, wait) of headless Chromium logged in to the console; the browser is ended after."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chrome()
    try:
        wait = WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])
        driver.get(base)
        wait.until(lambda d: d.find_elements(By.ID, "login"))
        driver.find_element(By.ID, "accessKey").send_keys("minioadmin")
        driver.find_element(By.ID, "secretKey").send_keys("minioadmin")
        driver.find_element(By.ID, "login-button").click()
        # The console's page has loaded and heard from the nodes once (the login page has no `state`).
        wait.until(lambda d: d.execute_script("return typeof state !== 'undefined' && state !== null"))
        yield driver, wait
    finally:
        driver.quit()


def session(base):
    """The session cookie and CSRF token a browser would get by logging in."""
    status, _, headers = call(base + "login", data=b"accessKey=minioadmin&secretKey=minioadmin")
    assert status == 303
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    page = call(base, headers={"Cookie": cookie})[1]
    return cookie, re.search(r'data-csrf="([0-9a-f]+)"', page).group(1)


def test_the_console_api_refuses_requests_without_the_session_or_the_csrf_token(console, running):
    base, _ = console
    kill = json.dumps({"action": "kill", "nodes": "node2"}).encode()
    assert call(base + "api/poll")[0] == 401
    assert call(base + "api/action", data=kill)[0] == 401
    assert "log in" in call(base)[1].lower()  # the login page
    assert call(base + "login", data=b"accessKey=minioadmin&secretKey=wrong")[0] == 401
    cookie, csrf = session(base)
    # The console's session opens no node's dashboard (browsers send it to every port of the host).
    node = running.endpoint("node1") + "/_dc/ui/api/cluster"
    assert call(node, headers={"Cookie": "dc_session=" + cookie.split("=", 1)[1]})[0] == 401
    assert call(base + "api/action", data=kill, headers={"Cookie": cookie})[0] == 403
    assert call(base + "api/action", data=kill, headers={"Cookie": cookie, "X-Csrf-Token": "0" * 64})[0] == 403
    # Even with the token, another site's page may not act (the browser names it in Origin).
    assert call(base + "api/action", data=kill,
                headers={"Cookie": cookie, "X-Csrf-Token": csrf, "Origin": "http://evil.example"})[0] == 403
    for bad in ({"action": "format-disk"}, {"action": "kill"}, {"action": "kill", "nodes": "--home=/"},
                {"action": "slow", "nodes": "node2", "delay": "soon"}, {"action": "kill", "nodes": "node9"}):
        status, text, _ = call(base + "api/action", data=json.dumps(bad).encode(),
                               headers={"Cookie": cookie, "X-Csrf-Token": csrf})
        assert status == 400 and text.strip(), (bad, status, text)
    # Nothing was done: every node still runs (the first probe may still be on its way).
    poll = lambda: json.loads(call(base + "api/poll", headers={"Cookie": cookie})[1])["state"]
    wait_until(lambda: poll() is not None, 5, message="the console's first probe")
    assert [n["process"] for n in poll()["nodes"]] == ["running"] * 4
    # Logged out, the same cookie is refused.
    assert call(base + "logout", data=b"", headers={"Cookie": cookie})[0] == 303
    assert call(base + "api/poll", headers={"Cookie": cookie})[0] == 401


def test_kill_and_start_node2_from_the_browser_and_watch_its_lane(console, running):
    from selenium.webdriver.common.by import By

    base, _ = console
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with logged_in(base, 20) as (driver, wait):

        def views(d, node):
            """How every other node sees `node`, from the page's view table."""
            return d.execute_script(
                "return [...document.querySelectorAll(`#views td[data-node='${arguments[0]}']`)]"
                ".filter((c) => c.dataset.observer !== arguments[0]).map((c) => c.dataset.state)", node)

        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")) == 4)
        wait.until(lambda d: views(d, "node2") == ["online"] * 3)
        assert driver.find_element(By.ID, "verdict").text == "healthy"
        # Some load, and the charts draw a line per node from the nodes' own metrics.
        s3 = s3_client(running.endpoint("node1"))
        s3.create_bucket(Bucket="charts")
        for i in range(20):
            s3.put_object(Bucket="charts", Key=f"k{i}", Body=b"x" * 100_000)
        lines = lambda d, chart: d.execute_script(
            "return [...document.querySelectorAll(`#charts svg[data-chart='${arguments[0]}'] polyline`)]"
            ".map((p) => p.dataset.node)", chart)
        wait.until(lambda d: sorted(set(lines(d, "requests/s"))) == ["node1", "node2", "node3", "node4"])
        wait.until(lambda d: "node1" in lines(d, "MB/s in"))

        driver.find_element(By.CSS_SELECTOR, "button[data-action=kill][data-node=node2]").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        clicked = time.monotonic()
        wait.until(lambda d: views(d, "node2") == ["offline"] * 3)
        detected = time.monotonic() - clicked
        assert detected < 10, detected  # demo timings: offline after 1 s of silence, the page polls each second
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#events li[data-event=launcher_kill]"))
        wait.until(lambda d: "devcluster kill node2" in d.find_element(By.ID, "results").text)
        # The lane drawn: red spans for node2 in every other node's row, and the kill as a mark.
        offline = driver.execute_script(
            "return new Set([...document.querySelectorAll(\"#lanes rect[data-node='node2'][data-state='offline']\")]"
            ".map((r) => r.dataset.observer)).size")
        assert offline == 3
        assert "kill" in [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#lanes text.mark")]
        assert driver.find_element(By.ID, "verdict").text == "degraded"
        time.sleep(1.5)  # one more redraw, for the picture
        driver.save_screenshot(str(ARTIFACTS / "console-node2-killed.png"))

        driver.find_element(By.CSS_SELECTOR, "button[data-action=start][data-node=node2]").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        wait.until(lambda d: views(d, "node2") == ["online"] * 3)
        wait.until(lambda d: d.find_element(By.ID, "verdict").text == "healthy")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#events li[data-event=launcher_start]"))
        driver.save_screenshot(str(ARTIFACTS / "console-node2-back.png"))
        assert console_errors(driver) == []


def test_the_console_keeps_working_while_a_node_is_down_and_stops_on_sigterm(console, running):
    base, process = console
    cookie, csrf = session(base)
    status, text, _ = call(base + "api/action", data=json.dumps({"action": "stop", "nodes": "node1"}).encode(),
                           headers={"Cookie": cookie, "X-Csrf-Token": csrf})
    answer = json.loads(text)
    assert status == 200 and answer["ok"] and answer["command"] == "devcluster stop node1", answer

    def node1_seen_offline():
        state = json.loads(call(base + "api/poll", headers={"Cookie": cookie})[1])["state"]
        return state and state["verdict"] == "degraded" and state["nodes"][0]["process"] == "stopped" and \
            all(n["view"]["node1"] == "offline" for n in state["nodes"][1:])
    wait_until(node1_seen_offline, 10, interval=0.5, message="node1 offline in the console's state")
    events = json.loads(call(base + "api/poll?after=0", headers={"Cookie": cookie})[1])["events"]
    assert any(e["event"] == "launcher_stop" and e.get("target") == "node1" for e in events)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_the_object_browser_uploads_lays_out_shares_and_deletes(console, running, tmp_path):
    """Make a bucket, upload a file by the file input (through the console, streamed to a node), see
    its erasure layout (every shard ok, then node3's unreachable once it is killed, still readable),
    fetch it byte-exact through its share link (presigned, straight from a node), walk into a folder,
    and delete it."""
    from selenium.webdriver.common.by import By

    base, _ = console
    payload = os.urandom(3 * 1024 * 1024 + 17)
    upload = tmp_path / "photo.bin"
    upload.write_bytes(payload)
    with logged_in(base, 20) as (driver, wait):
        driver.find_element(By.ID, "new-bucket").send_keys("browse")
        driver.find_element(By.ID, "make-bucket").click()
        wait.until(lambda d: d.find_element(By.ID, "bucket").get_attribute("value") == "browse")

        driver.find_element(By.ID, "file").send_keys(str(upload))
        wait.until(lambda d: d.find_element(By.ID, "upload-state").get_attribute("data-done") == "photo.bin")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#objects tr[data-key='photo.bin']"))

        driver.find_element(By.CSS_SELECTOR, "button[data-object=layout][data-key='photo.bin']").click()
        shards = lambda d: d.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('#layout .shard')]"
            ".map((s) => [s.dataset.node, s.dataset.state]))")
        wait.until(lambda d: shards(d) == {f"node{i}": "ok" for i in range(1, 5)})
        assert "readable" in driver.find_element(By.ID, "layout-summary").text

        driver.find_element(By.CSS_SELECTOR, "button[data-object=share][data-key='photo.bin']").click()
        wait.until(lambda d: d.find_elements(By.ID, "share-url"))
        link = driver.find_element(By.ID, "share-url").get_attribute("value")
        assert "X-Amz-Signature=" in link and "X-Amz-Expires=86400" in link
        with urllib.request.urlopen(link, timeout=30) as r:
            assert r.read() == payload

        # Blocks x shards: 4 blocks (3 MiB and a bit); a byte flipped in node1's first frame shows as
        # that one block of node1's column, the other blocks of it still good.
        cells = lambda d, node: d.execute_script(
            "return [...document.querySelectorAll(`#block-grid td.cell[data-node='${arguments[0]}']`)]"
            ".map((c) => c.dataset.state)", node)
        assert "in 4 blocks" in driver.find_element(By.ID, "layout-summary").text
        assert cells(driver, "node2") == ["ok"] * 4
        running.run("corrupt", "node1", "browse/photo.bin")
        wait.until(lambda d: cells(d, "node1") == ["corrupt", "ok", "ok", "ok"])
        assert shards(driver)["node1"] == "corrupt"

        running.run("kill", "node3")
        wait.until(lambda d: shards(d).get("node3") == "unreachable")
        assert cells(driver, "node3") == ["unreachable"] * 4
        # Two good shards of four are still k: readable.
        assert ", readable" in driver.find_element(By.ID, "layout-summary").text

        # A folder: an object uploaded under docs/ shows as a folder to walk into.
        cookie = {c["name"]: c["value"] for c in driver.get_cookies()}
        csrf = driver.execute_script("return document.body.dataset.csrf")
        status, text, _ = call(base + "api/upload?bucket=browse&key=docs/readme.txt", data=b"hello",
                               headers={"Cookie": f"dc_console={cookie['dc_console']}", "X-Csrf-Token": csrf,
                                        "Content-Type": "text/plain"}, method="PUT")
        assert status == 204, text
        driver.execute_script("loadKeys()")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-folder='docs/']"))
        driver.find_element(By.CSS_SELECTOR, "button[data-folder='docs/']").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#objects tr[data-key='docs/readme.txt']"))
        assert driver.find_element(By.ID, "path").text == "browse/docs/"
        driver.find_element(By.CSS_SELECTOR, "button[data-folder='']").click()

        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-object=delete][data-key='photo.bin']"))
        driver.find_element(By.CSS_SELECTOR, "button[data-object=delete][data-key='photo.bin']").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#objects tr[data-key='photo.bin']"))
        driver.save_screenshot(str(ARTIFACTS / "console-objects.png"))
        assert console_errors(driver) == []
    s3 = s3_client(running.endpoint("node1"))
    assert s3.get_object(Bucket="browse", Key="docs/readme.txt")["Body"].read() == b"hello"
    assert "Contents" not in s3.list_objects_v2(Bucket="browse", Prefix="photo")


def test_a_large_file_goes_up_in_parts_with_one_progress_bar(console, running, tmp_path):
    """A file past 16 MiB goes up from the file input as a multipart upload of 8 MiB parts, and reads
    back byte-exact with a multipart ETag; a completion S3 refuses (a part under 5 MiB that is not the
    last) is the user's error, and an abort leaves no upload behind. A folder of more keys than one
    page lists them all, a page at a time."""
    from selenium.webdriver.common.by import By

    base, _ = console
    s3 = s3_client(running.endpoint("node1"))
    s3.create_bucket(Bucket="big")
    from concurrent.futures import ThreadPoolExecutor
    many = [f"many/k{i:03d}" for i in range(203)] + ["many/sub/x"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket="big", Key=k, Body=b"."), many))
    payload = os.urandom(20 * 1024 * 1024 + 5)
    upload = tmp_path / "video.bin"
    upload.write_bytes(payload)
    with logged_in(base, 60) as (driver, wait):
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#bucket option[value='big']"))
        driver.execute_script("bucket = 'big'; prefix = ''; loadKeys()")
        driver.find_element(By.ID, "file").send_keys(str(upload))
        wait.until(lambda d: d.find_element(By.ID, "upload-state").get_attribute("data-done") == "video.bin")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#objects tr[data-key='video.bin']"))

        driver.find_element(By.CSS_SELECTOR, "button[data-folder='many/']").click()
        listed = lambda d: len(d.find_elements(By.CSS_SELECTOR, "#objects tr[data-key]"))
        wait.until(lambda d: d.find_elements(By.ID, "more-keys"))
        assert listed(driver) + len(driver.find_elements(By.CSS_SELECTOR, "button[data-folder='many/sub/']")) == 200
        driver.find_element(By.ID, "more-keys").click()
        wait.until(lambda d: listed(d) == 203 and not d.find_elements(By.ID, "more-keys"))
        assert driver.find_elements(By.CSS_SELECTOR, "button[data-folder='many/sub/']")
        assert console_errors(driver) == []
        cookie = driver.get_cookie("dc_console")["value"]
        csrf = driver.execute_script("return document.body.dataset.csrf")
    got = s3.get_object(Bucket="big", Key="video.bin")
    assert got["Body"].read() == payload
    assert got["ETag"].endswith('-3"'), got["ETag"]  # 8 + 8 + 4 MiB

    headers = {"Cookie": f"dc_console={cookie}", "X-Csrf-Token": csrf, "Content-Type": "application/json"}
    def multipart(**body):
        return call(base + "api/multipart", data=json.dumps(body).encode(), headers=headers)
    status, text, _ = multipart(action="start", bucket="big", key="small-parts", size=2 << 20)
    assert status == 200, text
    started = json.loads(text)
    assert started["partBytes"] == 8 << 20
    etags = []
    for n in (1, 2):
        status, text, _ = call(base + f"api/upload?bucket=big&key=small-parts&uploadId={started['uploadId']}"
                               f"&partNumber={n}", data=b"x" * (1 << 20), method="PUT",
                               headers={"Cookie": headers["Cookie"], "X-Csrf-Token": csrf})
        assert status == 200, text
        etags.append(json.loads(text)["etag"])
    status, text, _ = multipart(action="complete", bucket="big", key="small-parts", uploadId=started["uploadId"],
                                etags=etags)
    assert status == 400 and "EntityTooSmall" in text, (status, text)
    status, text, _ = multipart(action="abort", bucket="big", key="small-parts", uploadId=started["uploadId"])
    assert status == 204, text
    assert s3.list_multipart_uploads(Bucket="big").get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket="big", Prefix="small-parts")
    status, text, _ = multipart(action="start", bucket="big", key="k", size=-1)
    assert status == 400 and "size" in text


def test_versions_in_the_browser_enable_list_restore_and_delete(console, running):
    """Versioning turned on from the console; two writes of a key and a delete list as two versions and
    a delete marker; the older version downloads byte-exact by its link; a version deleted for good
    goes; a bucket that is not empty is not deleted, an empty one is."""
    from selenium.webdriver.common.by import By

    base, _ = console
    s3 = s3_client(running.endpoint("node2"))
    s3.create_bucket(Bucket="history")
    with logged_in(base, 20) as (driver, wait):
        wait.until(lambda d: d.find_element(By.ID, "bucket").get_attribute("value") == "history")
        wait.until(lambda d: "versioning: Off" in d.find_element(By.ID, "versioning").text)
        driver.find_element(By.CSS_SELECTOR, "button[data-versioning=Enabled]").click()
        wait.until(lambda d: "versioning: Enabled" in d.find_element(By.ID, "versioning").text)
        assert s3.get_bucket_versioning(Bucket="history")["Status"] == "Enabled"

        first = s3.put_object(Bucket="history", Key="notes.txt", Body=b"first draft")["VersionId"]
        s3.put_object(Bucket="history", Key="notes.txt", Body=b"second draft")
        driver.execute_script("loadKeys()")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[data-object=versions][data-key='notes.txt']"))
        driver.find_element(By.CSS_SELECTOR, "button[data-object=versions][data-key='notes.txt']").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#versions tr[data-version]")) == 2)

        driver.find_element(By.CSS_SELECTOR, f"button[data-version-do=download][data-version='{first}']").click()
        wait.until(lambda d: d.find_elements(By.ID, "share-url"))
        link = driver.find_element(By.ID, "share-url").get_attribute("value")
        assert f"versionId={first}" in link
        with urllib.request.urlopen(link, timeout=30) as r:
            assert r.read() == b"first draft"

        driver.find_element(By.CSS_SELECTOR, "button[data-object=delete][data-key='notes.txt']").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "#objects tr[data-key='notes.txt']"))
        # Gone from the listing; "show deleted" brings it back, greyed, with its versions a click away.
        driver.find_element(By.ID, "show-deleted").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#objects tr[data-deleted='notes.txt']"))
        driver.find_element(By.CSS_SELECTOR, "#objects tr[data-deleted='notes.txt'] button[data-object=versions]").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#versions tr[data-marker=true]"))
        assert len(driver.find_elements(By.CSS_SELECTOR, "#versions tr[data-version]")) == 3

        driver.find_element(By.CSS_SELECTOR, f"button[data-version-do=delete][data-version='{first}']").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#versions tr[data-version]")) == 2)
        versions = s3.list_object_versions(Bucket="history")
        assert first not in [v["VersionId"] for v in versions.get("Versions", [])]

        driver.find_element(By.ID, "delete-bucket").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        try:
            wait.until(lambda d: "not empty" in d.find_element(By.ID, "results").text.lower())
        except Exception:
            raise AssertionError(driver.find_element(By.ID, "results").text)
        driver.find_element(By.ID, "new-bucket").send_keys("scratch-b")
        driver.find_element(By.ID, "make-bucket").click()
        wait.until(lambda d: d.find_element(By.ID, "bucket").get_attribute("value") == "scratch-b")
        driver.find_element(By.ID, "delete-bucket").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        wait.until(lambda d: "scratch-b" not in [o.text for o in d.find_elements(By.CSS_SELECTOR, "#bucket option")])
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["history"]
        # The browser logs the refused delete (409) as an error: nothing else may be there.
        assert [e for e in console_errors(driver) if "409" not in e["message"]] == []


def test_a_guided_scenario_plays_to_the_end_in_the_browser(console, running):
    """The partition tutorial, opened from the console and played to the end on the console's own
    cluster: every step holds (the same checks as make test's), the narration and each step's
    outcome and commands show, the lanes show the split; the API refuses to close it mid-step and
    the whole thing needs the CSRF token."""
    from selenium.webdriver.common.by import By

    base, _ = console
    cookie, csrf = session(base)
    status, text, _ = call(base + "api/scenario", data=b'{"action": "open", "name": "partition"}',
                           headers={"Cookie": cookie})
    assert status == 403, text
    status, text, _ = call(base + "api/scenario", data=b'{"action": "open", "name": "../etc/passwd"}',
                           headers={"Cookie": cookie, "X-Csrf-Token": csrf})
    assert status == 400, text
    status, text, _ = call(base + "api/scenario", data=b'{"action": "step"}', headers={"Cookie": cookie,
                                                                                      "X-Csrf-Token": csrf})
    assert status == 409 and "open a scenario first" in text

    with logged_in(base, 180) as (driver, wait):
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#scenario-name option[value='partition']"))
        names = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#scenario-name option")]
        assert names == ["bitrot", "partition", "rebuild", "slow"]
        driver.execute_script("document.getElementById('scenario-name').value = 'partition'")
        driver.find_element(By.ID, "scenario-open").click()
        wait.until(lambda d: d.switch_to.alert)
        driver.switch_to.alert.accept()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#scenario .step"))
        assert "Split the cluster into two halves" in driver.find_element(By.ID, "scenario").text
        driver.find_element(By.ID, "scenario-step").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#scenario .step").get_attribute("data-state") == "ok")
        # One step done, the rest waiting for the user.
        states = [s.get_attribute("data-state") for s in driver.find_elements(By.CSS_SELECTOR, "#scenario .step")]
        assert states[0] == "ok" and set(states[1:]) == {"pending"}, states

        driver.find_element(By.ID, "scenario-play").click()
        # The answer to "play" shows the step it began (and the scenario takes ~10 s, a step after another).
        wait.until(lambda d: d.find_element(By.ID, "scenario-state").get_attribute("data-state") == "running")
        status, text, _ = call(base + "api/scenario", data=b'{"action": "close"}',
                               headers={"Cookie": cookie, "X-Csrf-Token": csrf})
        assert status == 409 and "under way" in text
        wait.until(lambda d: d.find_element(By.ID, "scenario-state").get_attribute("data-state") in ("done", "failed"))
        steps = driver.find_elements(By.CSS_SELECTOR, "#scenario .step")
        failed = [s.text for s in steps if s.get_attribute("data-state") != "ok"]
        assert failed == [], failed
        assert driver.find_element(By.ID, "scenario-state").get_attribute("data-state") == "done"
        text = driver.find_element(By.ID, "scenario").text
        assert "5 writes refused (503), as they should be" in text
        assert "all 30 objects byte-exact" in text and "clean:" in text
        driver.save_screenshot(str(ARTIFACTS / "console-scenario.png"))
        assert console_errors(driver) == []
    # The scenario's cluster is the console's: the launcher's events show what its steps did.
    events = json.loads(call(base + "api/poll?after=0", headers={"Cookie": cookie})[1])["events"]
    assert any(e["event"] == "launcher_faults" and "drop" in e.get("detail", "") for e in events)


def test_the_console_stops_on_sigterm_while_a_scenario_step_runs(console, running):
    """A step under way (the rebuild scenario's 300-object write) does not hold the console up: SIGTERM
    ends the step and the console within seconds."""
    base, process = console
    cookie, csrf = session(base)
    headers = {"Cookie": cookie, "X-Csrf-Token": csrf}
    status, text, _ = call(base + "api/scenario", data=b'{"action": "open", "name": "rebuild"}', headers=headers)
    assert status == 200, text
    status, text, _ = call(base + "api/scenario", data=b'{"action": "play"}', headers=headers)
    assert status == 200, text

    def writing():
        scenario = json.loads(call(base + "api/poll", headers={"Cookie": cookie})[1])["scenario"]
        return any(s["state"] == "running" and s["verb"] == "write" for s in scenario["steps"])
    wait_until(writing, 60, interval=0.2, message="the rebuild scenario writing its objects")
    stopping = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert time.monotonic() - stopping < 15


def test_a_deployment_devcluster_did_not_start_gets_a_console_without_controls(running):
    """`devcluster ui --endpoints` for nodes it did not start: the nodes, the timeline from each node's
    events over HTTP (a kill made elsewhere shows), the object browser; no controls, no scenarios."""
    from selenium.webdriver.common.by import By

    endpoints = [running.endpoint(f"node{i}") for i in range(1, 5)]
    p = subprocess.Popen([str(DEVCLUSTER), "ui", "--no-open", "--endpoints", *endpoints], env=running.env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = p.stdout.readline()
        assert "the deployment at " + endpoints[0] in line, line
        base = re.search(r"(http://127\.0\.0\.1:\d+/)", line).group(1)
        cookie, csrf = session(base)
        headers = {"Cookie": cookie, "X-Csrf-Token": csrf}

        def state():
            return json.loads(call(base + "api/poll", headers={"Cookie": cookie})[1])["state"]
        wait_until(lambda: state() and all(n["view"] and n["view"].get("node2") == "online"
                                           for n in state()["nodes"] if n["id"] != "node2"), 15, interval=0.5,
                   message="the console's probe of the deployment")
        status, text, _ = call(base + "api/action", data=b'{"action": "kill", "nodes": "node2"}', headers=headers)
        assert status == 409 and "controlled on their hosts" in text, text
        status, text, _ = call(base + "api/scenario", data=b'{"action": "open", "name": "partition"}',
                               headers=headers)
        assert status == 409, text
        status, text, _ = call(base + "api/bucket", data=b'{"name": "remote"}', headers=headers)
        assert status == 204, text

        running.run("kill", "node2")  # from outside, as a host's own tools would

        def offline_event():
            events = json.loads(call(base + "api/poll?after=0", headers={"Cookie": cookie})[1])["events"]
            return any(e["event"] == "node_offline" and e.get("peer") == "node2" for e in events)
        wait_until(offline_event, 15, interval=0.5, message="node2's node_offline in the console's timeline")

        with logged_in(base) as (driver, wait):
            wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")) == 4)
            assert not any(b.is_displayed() for b in driver.find_elements(By.CSS_SELECTOR, "button[data-action]"))
            assert not driver.find_element(By.ID, "scenario-open").is_displayed()
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#bucket option[value='remote']"))
            assert console_errors(driver) == []
    finally:
        if p.poll() is None:
            p.terminate()
        p.wait(timeout=30)
    assert s3_client(running.endpoint("node1")).head_bucket(Bucket="remote")
