#!/usr/bin/env python3
"""Makes the README's pictures from a real rebuild: a 4-node cluster on free ports, 600 objects of
1 MiB, node2 wiped; while it rebuilds, the dashboard (headless chromium) is saved as
docs/img/dashboard-rebuild.png and `devcluster watch` (under a pseudo-terminal) as docs/img/watch.txt.

  python3 scripts/screenshots.py      # after make build; needs chromium, chromium-driver, selenium
"""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import DEVCLUSTER, Cluster  # noqa: E402
from test_observability import chrome  # noqa: E402
from test_s3 import s3_client  # noqa: E402

OUT = ROOT / "docs" / "img"


def capture_watch(c, seconds, into):
    """The last full frame `devcluster watch` drew on a 110 x 40 terminal, escapes removed."""
    pid, fd = pty.fork()
    if pid == 0:
        env = dict(c.env, TERM="xterm", COLUMNS="110", LINES="40")
        os.execve(str(DEVCLUSTER), [str(DEVCLUSTER), "watch", "--name", c.name, "--interval", "250ms"], env)
    out, frames = b"", []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            out += os.read(fd, 1 << 16)
            parts = out.decode(errors="replace").split("\x1b[H")
            frames = [p for p in parts[1:-1] if "healing" in p] or frames
    os.kill(pid, 2)
    os.waitpid(pid, 0)
    os.close(fd)
    if frames:
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frames[-1])
        into.append("\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n")


def main():
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    OUT.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="dc-shots-")
    c = Cluster(home)
    driver = None
    try:
        c.up(4)
        s3 = s3_client(c.endpoint("node1"))
        s3.create_bucket(Bucket="photos")
        body = os.urandom(1 << 20)
        for i in range(600):
            s3.put_object(Bucket="photos", Key=f"2026/img-{i:04}.jpg", Body=body[i:] + body[:i])
        driver = chrome()
        driver.set_window_size(1400, 1000)
        base = c.endpoint("node1")
        driver.get(base + "/_dc/ui/#photos/2026/img-0042.jpg")
        driver.find_element(By.ID, "accessKey").send_keys("minioadmin")
        driver.find_element(By.ID, "secretKey").send_keys("minioadmin")
        driver.find_element(By.ID, "login-button").click()
        wait = WebDriverWait(driver, 30, poll_frequency=0.05)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#events li"))
        watch = []
        thread = threading.Thread(target=capture_watch, args=(c, 6, watch))
        c.run("wipe", "node2")
        thread.start()
        driver.get(base + "/_dc/ui/#photos/2026/img-0042.jpg")  # the shard map of one object
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#shard-table tr[data-node]"))

        def progress(d):
            """The rebuild bar's fill, in percent (0 when there is none)."""
            return d.execute_script(
                "const i = document.querySelector('#healing .rebuild .bar i'); return i ? parseFloat(i.style.width) : 0")
        wait.until(lambda d: progress(d) > 40)
        driver.find_element(By.CSS_SELECTOR, "#shard-form button").click()  # the shard map, mid-rebuild
        time.sleep(0.5)
        driver.save_screenshot(str(OUT / "dashboard-rebuild.png"))
        thread.join()
        if watch:
            (OUT / "watch.txt").write_text(watch[0])
        print(f"wrote {OUT / 'dashboard-rebuild.png'}" + (f" and {OUT / 'watch.txt'}" if watch else ""))
    finally:
        if driver:
            driver.quit()
        c.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
