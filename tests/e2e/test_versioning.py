"""Bucket versioning through boto3 against real nodes: version ids, delete markers, reads and
deletes by version, ListObjectVersions paging, suspension, restoring by copy, a node killed in the
middle, and concurrent writers converging on every node."""

import hashlib
import json
import os
import random
import threading
import time

import pytest

from conftest import Cluster, s3_error, wait_until
from test_s3 import s3_client


@pytest.fixture
def four(tmp_path):
    c = Cluster(tmp_path)
    try:
        c.up(4)
        s3 = s3_client(c.endpoint("node1"))
        s3.create_bucket(Bucket="vers")
        s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
        yield c
    finally:
        c.cleanup()


def test_overwrites_deletes_versions_and_restore_with_a_node_killed_in_the_middle(four):
    s3 = s3_client(four.endpoint("node1"))
    assert s3.get_bucket_versioning(Bucket="vers")["Status"] == "Enabled"
    bodies, ids = [], []
    for i in range(5):
        if i == 2:
            four.run("kill", "node3")
            four.run("wait-for", "node3=offline", "--within", "5s")
        body = os.urandom(200_000 + i)
        r = s3.put_object(Bucket="vers", Key="doc", Body=body)
        bodies.append(body)
        ids.append(r["VersionId"])
    assert len(set(ids)) == 5 and "null" not in ids
    d = s3.delete_object(Bucket="vers", Key="doc")
    assert d["DeleteMarker"] and d["VersionId"]
    assert s3_error(lambda: s3.get_object(Bucket="vers", Key="doc")) == ("NoSuchKey", 404)
    assert "Contents" not in s3.list_objects_v2(Bucket="vers")
    four.run("start", "node3")
    listed = s3.list_object_versions(Bucket="vers", Prefix="doc")
    assert [v["VersionId"] for v in listed["Versions"]] == ids[::-1]
    assert [m["VersionId"] for m in listed["DeleteMarkers"]] == [d["VersionId"]] and listed["DeleteMarkers"][0]["IsLatest"]
    assert not any(v["IsLatest"] for v in listed["Versions"])
    for body, vid in zip(bodies, ids):
        assert s3.get_object(Bucket="vers", Key="doc", VersionId=vid)["Body"].read() == body
        assert s3.head_object(Bucket="vers", Key="doc", VersionId=vid)["ContentLength"] == len(body)
    assert s3_error(lambda: s3.get_object(Bucket="vers", Key="doc", VersionId=d["VersionId"]))[1] == 405
    # Restore the second version by copying it over the delete marker.
    r = s3.copy_object(Bucket="vers", Key="doc", CopySource={"Bucket": "vers", "Key": "doc", "VersionId": ids[1]})
    assert s3.get_object(Bucket="vers", Key="doc")["Body"].read() == bodies[1]
    # Removing a version by id: the others stay.
    gone = s3.delete_object(Bucket="vers", Key="doc", VersionId=ids[0])
    assert gone["VersionId"] == ids[0] and "DeleteMarker" not in gone
    remaining = [v["VersionId"] for v in s3.list_object_versions(Bucket="vers")["Versions"]]
    assert ids[0] not in remaining and len(remaining) == 5
    # Removing the delete marker by id says it was one (S3's x-amz-delete-marker).
    gone = s3.delete_object(Bucket="vers", Key="doc", VersionId=d["VersionId"])
    assert gone["VersionId"] == d["VersionId"] and gone["DeleteMarker"] is True
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket="vers", Prefix="doc")
    # Everything, versions included, is whole on every node once node3 has caught up.
    deadline = time.monotonic() + 20
    while four.run("verify", check=False).returncode != 0:
        assert time.monotonic() < deadline, four.run("verify", check=False).stdout
        time.sleep(0.3)


def test_list_object_versions_pages_through_keys_and_versions(four):
    s3 = s3_client(four.endpoint("node2"))
    for key in ("a", "b", "c"):
        for i in range(3):
            s3.put_object(Bucket="vers", Key=key, Body=f"{key}{i}".encode())
    seen = []
    kwargs = {"Bucket": "vers", "MaxKeys": 2}
    while True:
        page = s3.list_object_versions(**kwargs)
        seen += [(v["Key"], v["IsLatest"]) for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kwargs.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])
    assert [k for k, _ in seen] == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert [latest for _, latest in seen] == [True, False, False] * 3


def test_a_bucket_holding_only_old_versions_and_delete_markers_is_not_empty(four):
    """DeleteBucket refuses a versioned bucket whose objects are all deleted (their versions and delete
    markers are still there: deleting it would lose them), on every node; once every version is gone,
    it goes. (It used to go at once, noncurrent versions and all.)"""
    s3 = s3_client(four.endpoint("node2"))
    first = s3.put_object(Bucket="vers", Key="doc", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket="vers", Key="doc", Body=b"two")["VersionId"]
    marker = s3.delete_object(Bucket="vers", Key="doc")["VersionId"]
    assert "Contents" not in s3.list_objects_v2(Bucket="vers")
    assert s3_error(lambda: s3.delete_bucket(Bucket="vers")) == ("BucketNotEmpty", 409)
    assert s3.get_object(Bucket="vers", Key="doc", VersionId=first)["Body"].read() == b"one"
    for version in (first, second):
        s3.delete_object(Bucket="vers", Key="doc", VersionId=version)
    assert s3_error(lambda: s3.delete_bucket(Bucket="vers")) == ("BucketNotEmpty", 409)  # the marker is left
    s3.delete_object(Bucket="vers", Key="doc", VersionId=marker)
    s3.delete_bucket(Bucket="vers")
    assert "vers" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_suspended_versioning_writes_the_null_version(four):
    s3 = s3_client(four.endpoint("node1"))
    first = s3.put_object(Bucket="vers", Key="s", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket="vers")["Status"] == "Suspended"
    s3.put_object(Bucket="vers", Key="s", Body=b"null one")
    s3.put_object(Bucket="vers", Key="s", Body=b"null two")
    versions = s3.list_object_versions(Bucket="vers")["Versions"]
    assert sorted(v["VersionId"] for v in versions) == sorted([first, "null"])
    assert s3.get_object(Bucket="vers", Key="s")["Body"].read() == b"null two"
    assert s3.get_object(Bucket="vers", Key="s", VersionId=first)["Body"].read() == b"versioned"


def test_sixteen_writers_on_four_keys_with_a_node_restarted_converge_everywhere(tmp_path):
    c = Cluster(tmp_path)
    try:
        c.up(4)
        s3s = [s3_client(c.endpoint(f"node{i % 4 + 1}")) for i in range(16)]
        s3s[0].create_bucket(Bucket="race")
        written = {f"k{i}": set() for i in range(4)}
        lock = threading.Lock()
        stop = threading.Event()

        def writer(n):
            rng = random.Random(n)
            while not stop.is_set():
                key = f"k{rng.randrange(4)}"
                body = f"writer {n} {rng.random()}".encode() * rng.randint(1, 2000)
                with lock:
                    written[key].add(hashlib.sha256(body).hexdigest())
                try:
                    s3s[n].put_object(Bucket="race", Key=key, Body=body)
                except Exception:
                    pass

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
        for t in threads:
            t.start()
        time.sleep(1)
        c.run("kill", "node2")
        time.sleep(1)
        c.run("start", "node2")
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 30
        while c.run("verify", check=False).returncode != 0:
            assert time.monotonic() < deadline, c.run("verify", check=False).stdout
            time.sleep(0.3)
        report = json.loads(c.run("verify", "--json").stdout)
        assert report["clean"] and report["objects"] == 4
        for key, digests in written.items():
            body = s3s[0].get_object(Bucket="race", Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() in digests, key
    finally:
        c.cleanup()


def test_tags_of_one_version_and_a_node_that_missed_a_tag_change(four):
    s3 = s3_client(four.endpoint("node1"))
    first = s3.put_object(Bucket="vers", Key="t", Body=b"one", Tagging="v=1")["VersionId"]
    second = s3.put_object(Bucket="vers", Key="t", Body=b"two", Tagging="v=2")["VersionId"]
    tags = lambda c, **kw: {t["Key"]: t["Value"] for t in c.get_object_tagging(Bucket="vers", Key="t", **kw)["TagSet"]}
    assert tags(s3) == {"v": "2"} and tags(s3, VersionId=first) == {"v": "1"}
    r = s3.put_object_tagging(Bucket="vers", Key="t", VersionId=first, Tagging={"TagSet": [{"Key": "v", "Value": "one"}]})
    assert r["VersionId"] == first
    assert tags(s3, VersionId=first) == {"v": "one"} and tags(s3) == {"v": "2"}
    # A node down while the tags change gets them once back: every node answers the new tags.
    four.run("kill", "node2")
    four.run("wait-for", "node2=offline", "--within", "5s")
    s3.put_object_tagging(Bucket="vers", Key="t", Tagging={"TagSet": [{"Key": "v", "Value": "changed"}]})
    four.run("start", "node2")
    for node in ("node1", "node2", "node3", "node4"):
        assert tags(s3_client(four.endpoint(node))) == {"v": "changed"}, node
    d = s3.delete_object(Bucket="vers", Key="t")
    assert s3_error(lambda: s3.get_object_tagging(Bucket="vers", Key="t", VersionId=d["VersionId"]))[1] == 405
    assert s3_error(lambda: s3.get_object_tagging(Bucket="vers", Key="t")) == ("NoSuchKey", 404)
    assert second
