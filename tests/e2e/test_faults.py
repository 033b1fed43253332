"""Injected faults against real nodes: partitions (drop, reject, one way, split), isolation, slow links,
expiry, a restart that keeps its faults, and a 2/2 split that accepts no write on either side."""

import json
import os
import time

import botocore
import pytest

from conftest import wait_until
from test_s3 import s3_client


def views(c):
    """{observer: {peer: state}} from every running node's own status."""
    status, _ = c.status()
    return {n["id"]: n.get("view") or {} for n in status["nodes"] if n.get("view") is not None}


def sees(c, observer, peer, state):
    return views(c).get(observer, {}).get(peer) == state


def faults_ok(c):
    """`devcluster faults` exits 0: every running node applies the wanted version."""
    return c.run("faults", check=False).returncode == 0


def test_partition_takes_effect_and_is_undone(running):
    p = running.run("partition", "node1", "node2")
    assert "node1 -> node2 drop" in p.stdout and "node2 -> node1 drop" in p.stdout
    assert p.stdout.count("took version 1") == 4, p.stdout
    wait_until(lambda: sees(running, "node1", "node2", "offline") and sees(running, "node2", "node1", "offline"), 10,
               message="node1 and node2 lose each other")
    # Everyone else still sees both.
    v = views(running)
    assert v["node3"]["node1"] == "online" and v["node3"]["node2"] == "online"
    assert v["node1"]["node3"] == "online"
    out = running.run("faults").stdout
    assert "node1: applies version 1: node1 -> node2 drop" in out, out
    events = [e for e in running.events() if e["event"] == "fault_injected"]
    assert {e["node"] for e in events} >= {"node1", "node2"}
    running.run("heal-partition")
    wait_until(lambda: sees(running, "node1", "node2", "online") and sees(running, "node2", "node1", "online"), 10,
               message="the partition healed")
    out = running.run("faults").stdout
    assert "no faults wanted" in out and "behind" not in out
    assert any(e["event"] == "fault_cleared" for e in running.events())


def test_one_way_partition_and_reject_mode(running):
    from test_observability import login
    s3 = s3_client(running.endpoint("node1"))
    s3.create_bucket(Bucket="oneway")
    running.run("partition", "node1", "node3", "--oneway", "--mode", "reject")
    assert faults_ok(running)
    # node1's requests to node3 are refused at once; node3's to node1 still work, and their answers
    # prove node1 alive to node3: the cut is one-way. (node1 may suspect node3 when a refusal comes.)
    body = os.urandom(300_000)
    t0 = time.monotonic()
    s3.put_object(Bucket="oneway", Key="k", Body=body)  # 3 of 4 shards: the write quorum
    assert time.monotonic() - t0 < 5
    cookie = login(running.endpoint("node1"))

    def shard_states(node):
        from test_observability import get
        status, _, raw = get(running.endpoint(node) + "/_dc/ui/api/shards?bucket=oneway&key=k", {"Cookie": cookie})
        assert status == 200, raw
        return {s["node"]: (s["state"], s.get("detail") or "") for s in json.loads(raw)["shards"]}
    seen_by_1 = shard_states("node1")
    assert seen_by_1["node3"][0] == "unreachable" and "refused" in seen_by_1["node3"][1], seen_by_1
    assert shard_states("node2")["node3"][0] == "missing"
    assert sees(running, "node3", "node1", "online")
    running.run("faults", "clear")
    running.run("heal", "--wait", "--within", "30s")
    assert all(state == "ok" for state, _ in shard_states("node2").values())
    assert s3.get_object(Bucket="oneway", Key="k")["Body"].read() == body


def test_client_faults_cut_or_slow_s3_traffic_only(running):
    s3 = s3_client(running.endpoint("node1"))
    s3.create_bucket(Bucket="clients")
    s3.put_object(Bucket="clients", Key="k", Body=b"x" * 1000)
    via2 = s3_client(running.endpoint("node2"))
    # Cut node2 off from its peers and from S3 clients (refused at once); the others serve S3 as before,
    # and node2 still answers the launcher (its health, status and fault endpoints are not S3).
    out = running.run("isolate", "node2", "--clients", "--mode", "reject").stdout
    assert "clients -> node2 reject" in out, out
    with pytest.raises(botocore.exceptions.BotoCoreError):
        via2.get_object(Bucket="clients", Key="k")
    assert s3.get_object(Bucket="clients", Key="k")["Body"].read() == b"x" * 1000
    assert "node2: applies" in running.run("faults").stdout
    running.run("faults", "clear")
    assert via2.get_object(Bucket="clients", Key="k")["Body"].read() == b"x" * 1000
    # Slow: node2's S3 requests wait before they are served (its peers' links wait too, 150 ms
    # stays under the demo heartbeat deadline).
    out = running.run("slow", "node2", "150ms", "--clients").stdout
    assert "clients -> node2 delay 150ms" in out, out
    t0 = time.monotonic()
    assert via2.get_object(Bucket="clients", Key="k")["Body"].read() == b"x" * 1000
    assert time.monotonic() - t0 >= 0.15
    running.run("faults", "clear")


def test_a_fault_for_a_while_expires_in_the_nodes(running):
    running.run("isolate", "node4", "--for", "2s")
    wait_until(lambda: sees(running, "node1", "node4", "offline"), 10, message="node4 isolated")
    wait_until(lambda: sees(running, "node1", "node4", "online") and sees(running, "node4", "node1", "online"), 15,
               message="the isolation expired")
    cleared = [e for e in running.events() if e["event"] == "fault_cleared"]
    assert cleared and all(e["by"] == "expired" for e in cleared), cleared


def test_a_restarted_node_stays_partitioned(running):
    running.run("partition", "node2", "node1,node3,node4")
    wait_until(lambda: sees(running, "node1", "node2", "offline"), 10, message="node2 cut off")
    running.run("stop", "node2")
    p = running.run("start", "node2", "--timeout", "5s")
    assert "started" in p.stdout
    time.sleep(2)
    v = views(running)
    assert v["node1"]["node2"] == "offline" and v["node2"]["node1"] == "offline", v
    assert faults_ok(running)
    running.run("heal-partition")
    wait_until(lambda: sees(running, "node1", "node2", "online"), 10, message="node2 back")


def test_a_two_two_split_accepts_no_write_and_loses_nothing(running):
    base1, base3 = running.endpoint("node1"), running.endpoint("node3")
    s3 = s3_client(base1)
    s3.create_bucket(Bucket="split")
    bodies = {f"before/{i}": os.urandom(100_000 + i) for i in range(10)}
    for k, b in bodies.items():
        s3.put_object(Bucket="split", Key=k, Body=b)
    running.run("partition", "--split", "node1,node2/node3,node4")
    wait_until(lambda: sees(running, "node1", "node3", "offline") and sees(running, "node3", "node1", "offline"), 10,
               message="the split")
    for base in (base1, base3):
        client = s3_client(base)
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.put_object(Bucket="split", Key="during", Body=b"x" * 1000)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        # Reads still work from either side: 2 of 4 shards are enough.
        assert client.get_object(Bucket="split", Key="before/3")["Body"].read() == bodies["before/3"]
    running.run("heal-partition")
    wait_until(lambda: all(s == "online" for v in views(running).values() for s in v.values()), 10,
               message="every view online")
    for k, b in bodies.items():
        assert s3.get_object(Bucket="split", Key=k)["Body"].read() == b
    # Nothing the split refused appeared after it (no phantom write).
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket="split", Key="during")
    s3.put_object(Bucket="split", Key="after", Body=b"ok")
    wait_until(lambda: json.loads(running.run("verify", "--json", check=False).stdout)["clean"], 20,
               message="verify clean after the split")


def test_a_slow_node_still_serves_and_a_slower_one_is_declared_dead(running):
    s3 = s3_client(running.endpoint("node1"))
    s3.create_bucket(Bucket="slow")
    s3.put_object(Bucket="slow", Key="k", Body=b"v" * 10_000)
    p = running.run("slow", "node2", "80ms±20ms")
    assert "node1 -> node2 delay 80ms±20ms" in p.stdout
    assert "node2 -> node1 delay 80ms±20ms" in running.run("faults").stdout
    # Slower, yet within the demo heartbeat's 200 ms deadline: node2 stays online, and serves.
    assert s3.get_object(Bucket="slow", Key="k")["Body"].read() == b"v" * 10_000
    s3.put_object(Bucket="slow", Key="k2", Body=b"w")
    time.sleep(1.5)
    assert sees(running, "node1", "node2", "online") and sees(running, "node2", "node1", "online")
    # Past the heartbeat's deadline, its heartbeats time out: the others declare it dead (and it them).
    running.run("slow", "node2", "400ms")
    wait_until(lambda: sees(running, "node1", "node2", "offline"), 10, message="node2 too slow to be alive")
    assert s3.get_object(Bucket="slow", Key="k")["Body"].read() == b"v" * 10_000
    running.run("faults", "clear")
    wait_until(lambda: sees(running, "node1", "node2", "online"), 10, message="node2 back")


def test_bad_fault_commands_say_what_to_write(running):
    for args, text in [
        (["partition", "node1"], "name two groups"),
        (["partition", "node1", "node9"], "node9 does not exist"),
        (["partition", "node1", "node2", "--mode", "bounce"], "--mode"),
        (["slow", "node2", "fast"], "500ms"),
        (["faults", "explode"], "clear"),
        (["partition", "node1", "node1"], "no link"),
    ]:
        p = running.run(*args, check=False)
        assert p.returncode != 0 and text in (p.stdout + p.stderr), (args, p.stdout, p.stderr)
    assert "no faults wanted" in running.run("faults").stdout


def test_a_full_disk_fails_its_writes_cleanly_and_the_write_still_succeeds(running):
    from test_observability import get, login
    s3 = s3_client(running.endpoint("node1"))
    s3.create_bucket(Bucket="full")
    running.run("disk-full", "node3")
    assert "node3 disk-full" in running.run("faults").stdout
    bodies = {f"k{i}": os.urandom(200_000 + i) for i in range(5)}
    for k, b in bodies.items():
        s3.put_object(Bucket="full", Key=k, Body=b)  # 3 of 4 nodes took it: the write quorum
    cookie = login(running.endpoint("node1"))
    status, _, raw = get(running.endpoint("node1") + "/_dc/ui/api/shards?bucket=full&key=k0", {"Cookie": cookie})
    assert {s["node"]: s["state"] for s in json.loads(raw)["shards"]}["node3"] == "missing"
    assert json.loads(running.run("verify", "--json", check=False).stdout)["clean"] is False
    # Two full disks leave no write quorum: a clean 503, and nothing half-written shows.
    running.run("disk-full", "node4")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="full", Key="refused", Body=b"x" * 1000)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (503, 507)
    running.run("disk-full", "node3,node4", "--undo")
    assert "no faults wanted" in running.run("faults").stdout
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket="full", Key="refused")
    running.run("heal", "--wait", "--within", "30s")
    for k, b in bodies.items():
        assert s3.get_object(Bucket="full", Key=k)["Body"].read() == b
