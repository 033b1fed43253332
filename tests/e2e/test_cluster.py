"""The foundation's user story, end to end: up, status, kill, events, start, pause, stop, down."""

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from datetime import datetime

import pytest

from conftest import (DEVCLUSTER, Cluster, PortBlocker, body_tag, free_base_port, internode_headers, internode_key,
                      process_alive, wait_until)

DEAD_AFTER = 1.0  # the demo profile


def ts(event):
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


def test_up_brings_every_node_online_in_every_view(running):
    status, code = running.status()
    assert code == 0, status
    assert status["schemaVersion"] == 1 and status["verdict"] == "healthy"
    assert status["accessKey"] == "minioadmin" and status["secretKey"] == "minioadmin"
    ids = [n["id"] for n in status["nodes"]]
    assert ids == ["node1", "node2", "node3", "node4"]
    for n in status["nodes"]:
        assert n["process"] == "running" and n["pid"] > 0
        assert n["endpoint"] == f"http://127.0.0.1:{n['port']}"
        assert n["view"] == {other: "online" for other in ids if other != n["id"]}
        assert process_alive(n["pid"], running.marker(n["id"]))


def test_kill_is_detected_by_every_survivor_within_dead_after_plus_a_second(running):
    running.run("kill", "node2")
    assert not process_alive(running.pid("node2") or 0)
    p = running.run("wait-for", "node2=offline", "--seen-by", "node1,node3,node4", "--within", f"{DEAD_AFTER + 1}s", check=False)
    assert p.returncode == 0, p.stderr
    events = running.events()
    kill = next(e for e in events if e["event"] == "launcher_kill" and e["target"] == "node2")
    for survivor in ("node1", "node3", "node4"):
        offline = [e for e in events if e["event"] == "node_offline" and e["node"] == survivor and e["peer"] == "node2"]
        assert offline, f"{survivor} reported no node_offline"
        assert ts(offline[0]) - ts(kill) <= DEAD_AFTER + 1.0
        suspect = [e for e in events if e["event"] == "node_suspect" and e["node"] == survivor and e["peer"] == "node2"]
        assert suspect and ts(suspect[0]) <= ts(offline[0])
    status, code = running.status()
    assert code == 1 and status["verdict"] == "degraded"
    node2 = next(n for n in status["nodes"] if n["id"] == "node2")
    assert node2["process"] == "stopped" and node2["seenAs"] == "offline" and node2["pid"] is None


def test_start_brings_a_node_back_as_restarted(running):
    old = running.status()[0]
    old_incarnation = next(n for n in old["nodes"] if n["id"] == "node2")["incarnation"]
    running.run("kill", "node2")
    running.run("wait-for", "node2=offline", "--within", "5s")
    p = running.run("start", "node2")
    assert "seen online by node1, node3, node4" in p.stdout
    events = running.events()
    for survivor in ("node1", "node3", "node4"):
        assert any(e["event"] == "node_online" and e["node"] == survivor and e["peer"] == "node2" for e in events)
        restarted = [e for e in events if e["event"] == "node_restarted" and e["node"] == survivor and e["peer"] == "node2"]
        assert restarted and restarted[-1]["incarnation"] > old_incarnation
    assert running.status()[1] == 0


def test_pause_makes_a_node_suspect_then_offline_and_resume_brings_it_back(running):
    running.run("pause", "node3")
    assert running.status()[0]["nodes"][2]["process"] == "paused"
    running.run("wait-for", "node3=offline", "--within", "4s")
    running.run("resume", "node3")
    running.run("wait-for", "all=online", "--within", "3s")
    events = running.events()
    # Every observer went through suspect before offline (a frozen peer times out; it does not refuse),
    # from the pause on (on a starved machine a late heartbeat may have made one suspect before it).
    paused = next(i for i, e in enumerate(events) if e["event"] == "launcher_pause" and e.get("target") == "node3")
    for observer in ("node1", "node2", "node4"):
        states = [e["event"] for e in events[paused:] if e["node"] == observer and e.get("peer") == "node3" and e["event"] in ("node_suspect", "node_offline")]
        assert states[:2] == ["node_suspect", "node_offline"], (observer, states)
    # The paused node noticed its own stall and did not blame its peers for it.
    assert any(e["event"] == "node_stalled" and e["node"] == "node3" for e in events)
    assert not any(e["event"] == "node_offline" and e["node"] == "node3" for e in events)


def test_stop_is_graceful_lets_the_in_flight_request_finish_and_peers_hear_at_once(running):
    pid = running.pid("node1")
    # An in-flight request: a signed heartbeat whose body is still arriving when the stop begins.
    body = json.dumps({"node": "node2", "incarnation": 1, "health": "ok", "load": {"requestsInFlight": 0, "requestsPerSecond": 0},
                       "view": {}, "sentAt": 0}).encode()
    headers = running.signed_headers("POST", "/_dc/v1/heartbeat", caller="node2", body=body)
    head = "POST /_dc/v1/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + f"Content-Length: {len(body)}\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", running.port("node1")), timeout=10)
    s.sendall(head.encode() + body[:10])
    time.sleep(0.2)
    stopper = subprocess.Popen([str(DEVCLUSTER), "stop", "node1", "--name", running.name],
                               env=running.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: '"event":"node_stopping"' in running.log("node1"), 5, message="node1 stopping")
    # Still serving the request already in flight; new connections are refused.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port("node1")), timeout=1).close()
    s.sendall(body[10:])
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = s.recv(65536)
        assert chunk, "connection closed without a response"
        response += chunk
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert b"Connection: close" in response
    s.close()
    out, err = stopper.communicate(timeout=30)
    assert stopper.returncode == 0, err
    assert "node1: stopped gracefully" in out
    assert not process_alive(pid)
    assert '"msg":"stopped"' in running.log("node1").splitlines()[-1]
    events = running.events()
    for peer in ("node2", "node3", "node4"):
        about_node1 = [e for e in events if e["node"] == peer and e.get("peer") == "node1" and e["event"] != "node_online"]
        assert about_node1 and about_node1[0]["event"] == "node_offline" and about_node1[0]["reason"] == "stopped gracefully"
        # Late heartbeats from the stopping node never bring it back.
        assert not [e for e in events if e["node"] == peer and e.get("peer") == "node1" and e["event"] == "node_online" and ts(e) > ts(about_node1[0])]
    time.sleep(1.5)
    status, _ = running.status()
    assert all(n["view"]["node1"] == "offline" for n in status["nodes"] if n["id"] != "node1")


def test_down_ends_exactly_the_started_pids_and_keeps_data_unless_purged(running):
    pids = running.pids()
    data = running.dir / "node1" / "data"
    running.run("down")
    for nid, pid in pids.items():
        assert not process_alive(pid), f"{nid} (pid {pid}) still running after down"
    assert data.exists()
    running.run("up")  # restarts with the same ports and data
    assert running.status()[1] == 0
    ports = [n["port"] for n in running.record()["nodes"]]
    pids = running.pids()
    p = running.run("down", "--purge")
    assert "deleted" in p.stdout
    assert not running.dir.exists()
    for pid in pids.values():
        assert not process_alive(pid)
    assert all(socket.socket().connect_ex(("127.0.0.1", port)) != 0 for port in ports)


def test_a_second_named_cluster_runs_beside_the_first_on_other_ports(running, home):
    other = Cluster(home, name="second")
    try:
        other.up(3)
        first_ports = {n["port"] for n in running.record()["nodes"]}
        second_ports = {n["port"] for n in other.record()["nodes"]}
        assert not first_ports & second_ports
        assert other.status()[1] == 0 and running.status()[1] == 0
        listing = running.run("ls").stdout
        assert "dev" in listing and "second" in listing
        other.run("kill", "all")
        assert running.status()[1] == 0  # the first never noticed
    finally:
        other.cleanup()


def test_a_busy_port_is_skipped_and_named(cluster):
    base = free_base_port(8)
    with PortBlocker(base):
        p = cluster.run("up", 2, "--base-port", base, "--demo")
        assert f"port {base} is busy" in p.stdout and f"pid {os.getpid()}" in p.stdout
        assert [n["port"] for n in cluster.record()["nodes"]] == [base + 1, base + 2]


def test_up_fails_fast_with_the_log_when_a_node_dies_at_start(cluster, home):
    fake = os.path.join(home, "broken-devnode")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'devnode: cannot start: disk on fire' >&2\nexit 1\n")
    os.chmod(fake, 0o755)
    cluster.env["DEVCLUSTER_DEVNODE"] = fake
    start = time.monotonic()
    p = cluster.run("up", 3, "--base-port", free_base_port(6), check=False)
    assert p.returncode != 0
    assert time.monotonic() - start < 10
    assert "failed to start" in p.stderr and "disk on fire" in p.stderr


def test_a_failed_restart_stops_the_nodes_it_had_started(cluster):
    cluster.up(3)
    cluster.run("down")
    blocked = cluster.port("node3")
    with PortBlocker(blocked):
        p = cluster.run("up", check=False)
    assert p.returncode == 1 and f"its port {blocked} is busy" in p.stderr
    assert "nothing is left half running" in p.stdout
    status, code = cluster.status()
    assert code == 2 and [n["process"] for n in status["nodes"]] == ["stopped"] * 3


def test_status_exit_codes_follow_health(running):
    assert running.status()[1] == 0
    running.run("kill", "node4")
    assert running.status()[1] == 1
    running.run("kill", "node2,node3")
    status, code = running.status()
    assert code == 2 and status["verdict"] == "unavailable"


def test_selectors_and_bad_input_give_clear_errors(running, home):
    p = running.run("kill", "node9", check=False)
    assert p.returncode != 0 and "node9 does not exist" in p.stderr
    p = running.run("wait-for", "node2=asleep", check=False)
    assert p.returncode == 64 and "unknown state" in p.stderr
    p = running.run("wait-for", "node2=offline", "--within", "300ms", check=False)
    assert p.returncode == 1 and "not reached" in p.stderr and "node1 sees node2 online" in p.stderr
    p = running.run("up", "7", check=False)
    assert p.returncode != 0 and "has 4 nodes" in p.stderr
    p = Cluster(home, name="nosuch").run("status", check=False)
    assert p.returncode != 0 and "no cluster 'nosuch'" in p.stderr


def test_logs_and_events_read_back_in_time_order(running):
    running.run("kill", "node2")
    running.run("wait-for", "node2=offline", "--within", "3s")
    events = running.events()
    times = [ts(e) for e in events]
    assert times == sorted(times)
    text = running.run("events").stdout
    assert "launcher_kill" in text and "node2 offline" in text
    logs = running.run("logs", "node1").stdout
    assert "devnode 0.1.0 serving" in logs and "node_offline" in logs
    raw = running.run("logs", "node1", "--raw", "-n", "3").stdout.splitlines()
    assert len(raw) == 3 and all(json.loads(line)["node"] == "node1" for line in raw)


def test_events_follow_prints_new_events_as_they_happen(running):
    proc = subprocess.Popen([str(DEVCLUSTER), "events", "-f", "--json", "--name", running.name],
                            env=running.env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        running.run("kill", "node4")
        seen = []
        deadline = time.monotonic() + 5
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() < deadline and not any(e.get("event") == "node_offline" and e.get("peer") == "node4" for e in seen):
            line = proc.stdout.readline()
            if line:
                seen.append(json.loads(line))
            else:
                time.sleep(0.05)
        assert any(e.get("event") == "node_offline" and e.get("peer") == "node4" for e in seen)
    finally:
        proc.kill()
        proc.wait()


def test_internode_requests_cannot_be_replayed_changed_or_forged(running):
    """Each is refused with 403 and a log line that says why: a heartbeat sent twice (a captured request
    replayed), a heartbeat's body swapped under its valid headers, a stage stream whose last bytes are
    not its tag, and a request signed with another deployment's key. None is applied."""
    port = running.port("node1")
    r = running.record()

    def send(path, body, headers, method="POST"):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request(method, path, body=body, headers={**headers, "Content-Type": "application/octet-stream"})
            response = c.getresponse()
            return response.status, response.read().decode()
        finally:
            c.close()

    beat = json.dumps({"node": "node2", "incarnation": 1, "health": "ok",
                       "load": {"requestsInFlight": 0, "requestsPerSecond": 0}, "view": {}, "sentAt": 0}).encode()
    headers = running.signed_headers("POST", "/_dc/v1/heartbeat", caller="node2", body=beat)
    assert send("/_dc/v1/heartbeat", beat, headers)[0] == 200
    status, text = send("/_dc/v1/heartbeat", beat, headers)
    assert status == 403 and "a replay is refused" in text, (status, text)

    forged = beat.replace(b'"incarnation": 1', b'"incarnation": 9')
    status, text = send("/_dc/v1/heartbeat", forged,
                        running.signed_headers("POST", "/_dc/v1/heartbeat", caller="node2", body=beat))
    assert status == 403 and "does not match its signature" in text, (status, text)

    # A stage stream ends with the Poly1305 tag of what came before it; here, with a wrong one.
    upload = os.urandom(16).hex()
    target = f"/_dc/v1/storage/stage?upload={upload}&part=1"
    nonce = f"{os.urandom(8).hex()}.1"
    stream = internode_headers(r["accessKey"], r["secretKey"], "PUT", target, "node2", nonce=nonce, trailer=True)
    shard = os.urandom(100_000)
    good_tag = body_tag(internode_key(r["accessKey"], r["secretKey"]), nonce, shard)
    status, text = send(target, shard + bytes(16), stream, method="PUT")
    assert status == 403 and "does not match its signature" in text, (status, text)
    assert good_tag != bytes(16)
    staged = running.dir / "node1" / "data" / ".dc" / "tmp" / upload
    assert wait_until(lambda: not staged.exists(), 5, message="the refused stream's staged file removed")

    stranger = internode_headers(r["accessKey"], "another-deployment", "GET", "/_dc/v1/status", "node2")
    status, text = send("/_dc/v1/status", b"", stranger, method="GET")
    assert status == 403 and "bad signature" in text, (status, text)

    refusals = [line for line in running.log("node1").splitlines() if "refused an internal request" in line]
    for reason, count in (("a replay is refused", 1), ("does not match its signature", 2), ("bad signature", 1)):
        assert sum(reason in line for line in refusals) == count, (reason, refusals)


def test_a_request_captured_before_a_restart_is_not_accepted_after_it(running):
    """A node's replay windows live in memory; what it saw before a restart is gone. A signed status
    request answered once, replayed after the node restarts (well inside the clock window), is refused
    because it was signed before the node started; a fresh one passes."""
    port = running.port("node3")

    def get(headers):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request("GET", "/_dc/v1/status", headers=headers)
            response = c.getresponse()
            return response.status, response.read().decode()
        finally:
            c.close()

    captured = running.signed_headers("GET", "/_dc/v1/status", caller="node2")
    assert get(captured)[0] == 200
    running.run("restart", "node3")
    status, text = get(captured)
    assert status == 403 and "before this node started" in text, (status, text)
    assert get(running.signed_headers("GET", "/_dc/v1/status", caller="node2"))[0] == 200
    assert any("before this node started" in line for line in running.log("node3").splitlines())


def test_a_node_speaks_only_for_itself(running):
    """A heartbeat or leave notice signed by node2 that claims to come from node3 is refused (403): a node
    that can sign cannot keep another alive in its peers' views, or announce its departure."""
    body = json.dumps({"node": "node3", "incarnation": 99, "health": "ok",
                       "load": {"requestsInFlight": 0, "requestsPerSecond": 0}, "view": {}, "sentAt": 0}).encode()
    for path, payload in (("/_dc/v1/heartbeat", body),
                          ("/_dc/v1/leave", json.dumps({"node": "node3", "incarnation": 99}).encode())):
        headers = running.signed_headers("POST", path, caller="node2", body=payload)
        c = http.client.HTTPConnection("127.0.0.1", running.port("node1"), timeout=10)
        c.request("POST", path, body=payload, headers={**headers, "Content-Type": "application/json"})
        r = c.getresponse()
        text = r.read()
        c.close()
        assert r.status == 403 and b"signed by node2 but speaks for node3" in text, (path, r.status, text)
    # node3 is still online in node1's view: neither message was applied.
    status = json.loads(running.run("status", "--json", check=False).stdout)
    node1 = next(n for n in status["nodes"] if n["id"] == "node1")
    assert node1["view"]["node3"] == "online"
