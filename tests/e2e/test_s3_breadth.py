"""S3 beyond PUT and GET, through real clients: copies, multi-delete, conditional requests, response
overrides, stored headers and checksums, and the sync workflows of the aws cli, s3cmd and rclone."""

import hashlib
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import botocore
import pytest

from conftest import four_nodes, s3_error
from test_s3 import KEY, SECRET, run, s3_client, tool_env

MiB = 1 << 20


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with four_nodes(tmp_path_factory.mktemp("breadth"), "wide", "other") as c:
        yield c


def test_copy_object_within_and_across_buckets_with_both_metadata_directives(store):
    s3 = s3_client(store.endpoint("node1"))
    data = os.urandom(3 * MiB + 5)
    s3.put_object(Bucket="wide", Key="src", Body=data, ContentType="image/png", Metadata={"a": "1"}, CacheControl="max-age=5")
    r = s3.copy_object(Bucket="other", Key="dst", CopySource={"Bucket": "wide", "Key": "src"})
    assert r["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket="other", Key="dst")
    assert got["Body"].read() == data and got["ContentType"] == "image/png" and got["Metadata"] == {"a": "1"}
    assert got["CacheControl"] == "max-age=5"
    s3.copy_object(Bucket="wide", Key="dst2", CopySource="wide/src", MetadataDirective="REPLACE",
                   ContentType="text/plain", Metadata={"b": "2"})
    head = s3.head_object(Bucket="wide", Key="dst2")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"b": "2"}
    # Onto itself: only with new metadata.
    assert s3_error(lambda: s3.copy_object(Bucket="wide", Key="src", CopySource="wide/src")) == ("InvalidRequest", 400)
    s3.copy_object(Bucket="wide", Key="src", CopySource="wide/src", MetadataDirective="REPLACE", Metadata={"c": "3"})
    assert s3.head_object(Bucket="wide", Key="src")["Metadata"] == {"c": "3"}
    assert s3.get_object(Bucket="wide", Key="src")["Body"].read() == data
    # Source conditions; a missing source.
    etag = hashlib.md5(data).hexdigest()
    s3.copy_object(Bucket="wide", Key="c1", CopySource="wide/src", CopySourceIfMatch=etag)
    assert s3_error(lambda: s3.copy_object(Bucket="wide", Key="c2", CopySource="wide/src", CopySourceIfNoneMatch=etag)) == ("PreconditionFailed", 412)
    assert s3_error(lambda: s3.copy_object(Bucket="wide", Key="c3", CopySource="wide/nope")) == ("NoSuchKey", 404)


def test_upload_part_copy_builds_an_object_from_ranges_of_another(store):
    s3 = s3_client(store.endpoint("node2"))
    data = os.urandom(12 * MiB)
    s3.put_object(Bucket="wide", Key="whole", Body=data)
    uid = s3.create_multipart_upload(Bucket="wide", Key="assembled")["UploadId"]
    parts = []
    for n, (a, b) in enumerate([(0, 6 * MiB - 1), (6 * MiB, 12 * MiB - 1)], start=1):
        r = s3.upload_part_copy(Bucket="wide", Key="assembled", UploadId=uid, PartNumber=n, CopySource="wide/whole",
                                CopySourceRange=f"bytes={a}-{b}")
        parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
    s3.complete_multipart_upload(Bucket="wide", Key="assembled", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket="wide", Key="assembled")["Body"].read() == data


def test_delete_objects_reports_each_key_and_quiet_mode_only_errors(store):
    s3 = s3_client(store.endpoint("node3"))
    for i in range(5):
        s3.put_object(Bucket="wide", Key=f"del/{i}", Body=b"x")
    r = s3.delete_objects(Bucket="wide", Delete={"Objects": [{"Key": f"del/{i}"} for i in range(3)] + [{"Key": "del/missing"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["del/0", "del/1", "del/2", "del/missing"]
    assert not r.get("Errors")
    r = s3.delete_objects(Bucket="wide", Delete={"Objects": [{"Key": "del/3"}, {"Key": "a" * 1100}], "Quiet": True})
    assert not r.get("Deleted") and [e["Code"] for e in r["Errors"]] == ["KeyTooLongError"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="wide", Prefix="del/")["Contents"]] == ["del/4"]


def test_conditional_gets_and_writes(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.put_object(Bucket="wide", Key="cond", Body=b"v1")
    head = s3.head_object(Bucket="wide", Key="cond")
    etag, modified = head["ETag"], head["LastModified"]
    assert s3.get_object(Bucket="wide", Key="cond", IfMatch=etag)["Body"].read() == b"v1"
    assert s3_error(lambda: s3.get_object(Bucket="wide", Key="cond", IfMatch='"0000"')) == ("PreconditionFailed", 412)
    assert s3_error(lambda: s3.get_object(Bucket="wide", Key="cond", IfNoneMatch=etag))[1] == 304
    assert s3_error(lambda: s3.head_object(Bucket="wide", Key="cond", IfModifiedSince=modified))[1] == 304
    assert s3.get_object(Bucket="wide", Key="cond", IfModifiedSince=modified - timedelta(hours=1))["Body"].read() == b"v1"
    assert s3_error(lambda: s3.get_object(Bucket="wide", Key="cond", IfUnmodifiedSince=modified - timedelta(hours=1)))[1] == 412
    # Conditional writes: create-only, and compare-and-swap on the ETag.
    assert s3_error(lambda: s3.put_object(Bucket="wide", Key="cond", Body=b"v2", IfNoneMatch="*")) == ("PreconditionFailed", 412)
    s3.put_object(Bucket="wide", Key="fresh", Body=b"new", IfNoneMatch="*")
    assert s3_error(lambda: s3.put_object(Bucket="wide", Key="cond", Body=b"v2", IfMatch='"0000"')) == ("PreconditionFailed", 412)
    s3.put_object(Bucket="wide", Key="cond", Body=b"v2", IfMatch=etag)
    assert s3.get_object(Bucket="wide", Key="cond")["Body"].read() == b"v2"


def test_response_overrides_stored_headers_and_checksums(store):
    s3 = s3_client(store.endpoint("node4"))
    s3.put_object(Bucket="wide", Key="hdr", Body=b"<h1>hi</h1>", ContentType="text/html", ContentDisposition="inline",
                  ContentEncoding="identity", ContentLanguage="en", Expires=datetime(2030, 1, 1, tzinfo=timezone.utc),
                  ChecksumAlgorithm="SHA256")
    got = s3.get_object(Bucket="wide", Key="hdr")
    assert (got["ContentType"], got["ContentDisposition"], got["ContentEncoding"], got["ContentLanguage"]) == (
        "text/html", "inline", "identity", "en")
    assert got["Expires"].year == 2030
    over = s3.get_object(Bucket="wide", Key="hdr", ResponseContentType="application/octet-stream",
                         ResponseContentDisposition='attachment; filename="x.html"', ResponseCacheControl="no-store")
    assert over["ContentType"] == "application/octet-stream" and over["ContentDisposition"].startswith("attachment")
    assert over["CacheControl"] == "no-store"
    checked = s3.get_object(Bucket="wide", Key="hdr", ChecksumMode="ENABLED")
    assert checked["ChecksumSHA256"]
    assert checked["Body"].read() == b"<h1>hi</h1>"


def write_tree(root, count, seed):
    import random
    rng = random.Random(seed)
    for i in range(count):
        p = root / f"d{i % 7}" / f"e{i % 3}" / f"f{i}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(rng.randint(0, 40_000)))


def test_aws_s3_sync_of_500_files_both_ways_and_with_delete(store, tmp_path):
    env = tool_env(tmp_path)
    endpoint = store.endpoint("node2")
    src = tmp_path / "src"
    write_tree(src, 500, seed=1)
    run(["aws", "--endpoint-url", endpoint, "s3", "sync", str(src), "s3://wide/tree", "--no-progress", "--only-show-errors"], env)
    back = tmp_path / "back"
    run(["aws", "--endpoint-url", store.endpoint("node3"), "s3", "sync", "s3://wide/tree", str(back), "--no-progress", "--only-show-errors"], env)
    assert subprocess.run(["diff", "-r", str(src), str(back)]).returncode == 0
    # Remove some files and sync with --delete: the bucket follows (DeleteObjects under the hood).
    for p in list(src.rglob("f1*.bin"))[:40]:
        p.unlink()
    run(["aws", "--endpoint-url", endpoint, "s3", "sync", str(src), "s3://wide/tree", "--delete", "--no-progress", "--only-show-errors"], env)
    s3 = s3_client(endpoint)
    keys = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="wide", Prefix="tree/"):
        keys |= {o["Key"] for o in page.get("Contents", [])}
    assert keys == {"tree/" + str(p.relative_to(src)) for p in src.rglob("*.bin")}
    # mv is a copy and a delete.
    run(["aws", "--endpoint-url", endpoint, "s3", "mv", "s3://wide/tree/d0/e0/f0.bin", "s3://other/moved.bin", "--only-show-errors"], env)
    assert s3.get_object(Bucket="other", Key="moved.bin")["Body"].read() == (src / "d0" / "e0" / "f0.bin").read_bytes()


def test_s3cmd_and_rclone_sync_and_check(store, tmp_path):
    env = tool_env(tmp_path)
    src = tmp_path / "src"
    write_tree(src, 120, seed=2)
    port = store.port("node1")
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = {KEY}\nsecret_key = {SECRET}\nhost_base = 127.0.0.1:{port}\nhost_bucket = 127.0.0.1:{port}\n"
                   "use_https = False\nsignature_v2 = False\n")
    run(["s3cmd", "-c", str(cfg), "sync", "--no-progress", str(src) + "/", "s3://wide/s3cmd/"], env)
    back = tmp_path / "s3cmd-back"
    run(["s3cmd", "-c", str(cfg), "sync", "--no-progress", "s3://wide/s3cmd/", str(back) + "/"], env)
    assert subprocess.run(["diff", "-r", str(src), str(back)]).returncode == 0
    env.update(RCLONE_CONFIG_DC_TYPE="s3", RCLONE_CONFIG_DC_PROVIDER="Minio", RCLONE_CONFIG_DC_ACCESS_KEY_ID=KEY,
               RCLONE_CONFIG_DC_SECRET_ACCESS_KEY=SECRET, RCLONE_CONFIG_DC_ENDPOINT=store.endpoint("node4"))
    run(["rclone", "sync", str(src), "dc:wide/rclone"], env)
    for p in list(src.rglob("f2*.bin"))[:10]:
        p.unlink()
    run(["rclone", "sync", str(src), "dc:wide/rclone"], env)
    run(["rclone", "check", str(src), "dc:wide/rclone"], env)
    # Server-side copy and move within the store.
    run(["rclone", "copy", "dc:wide/rclone/d1", "dc:other/rclone-copy"], env)
    run(["rclone", "check", str(src / "d1"), "dc:other/rclone-copy"], env)


def test_conditional_writes_in_every_form_and_on_multipart_completion(store):
    s3 = s3_client(store.endpoint("node2"))
    # If-Match: * needs an object: 404 NoSuchKey without one.
    assert s3_error(lambda: s3.put_object(Bucket="wide", Key="cas", Body=b"x", IfMatch="*")) == ("NoSuchKey", 404)
    etag = s3.put_object(Bucket="wide", Key="cas", Body=b"v1", IfNoneMatch="*")["ETag"]
    s3.put_object(Bucket="wide", Key="cas", Body=b"v2", IfMatch="*")
    etag2 = s3.head_object(Bucket="wide", Key="cas")["ETag"]
    # If-None-Match with an ETag: refused when the object has it.
    assert s3_error(lambda: s3.put_object(Bucket="wide", Key="cas", Body=b"v3", IfNoneMatch=etag2)) == ("PreconditionFailed", 412)
    s3.put_object(Bucket="wide", Key="cas", Body=b"v3", IfNoneMatch=etag)
    assert s3.get_object(Bucket="wide", Key="cas")["Body"].read() == b"v3"
    # CompleteMultipartUpload takes the same conditions, judged when it commits.
    def upload(key, **conditions):
        uid = s3.create_multipart_upload(Bucket="wide", Key=key)["UploadId"]
        part = s3.upload_part(Bucket="wide", Key=key, UploadId=uid, PartNumber=1, Body=b"p" * 1000)
        return s3.complete_multipart_upload(Bucket="wide", Key=key, UploadId=uid,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
                                            **conditions)
    upload("mpu-once", IfNoneMatch="*")
    assert s3_error(lambda: upload("mpu-once", IfNoneMatch="*")) == ("PreconditionFailed", 412)
    assert s3_error(lambda: upload("mpu-new", IfMatch='"0000"')) == ("NoSuchKey", 404)


def test_of_two_overlapping_writes_the_one_that_completes_last_is_the_object(store):
    import http.client
    from urllib.parse import urlsplit
    s3 = s3_client(store.endpoint("node1"))
    # The slow write starts first: half its body, through a presigned URL, then a pause.
    url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": "wide", "Key": "overlap"}))
    body = b"S" * (3 * 1024 * 1024)
    slow = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    slow.putrequest("PUT", url.path + "?" + url.query)
    slow.putheader("Content-Length", str(len(body)))
    slow.endheaders()
    slow.send(body[:len(body) // 2])
    # A quick write starts and completes meanwhile, through another node.
    s3_client(store.endpoint("node3")).put_object(Bucket="wide", Key="overlap", Body=b"Q" * 100)
    slow.send(body[len(body) // 2:])
    assert slow.getresponse().status == 200
    # The slow write completed last: it is the object.
    assert s3_client(store.endpoint("node2")).get_object(Bucket="wide", Key="overlap")["Body"].read() == body


def test_object_tagging_on_put_copy_and_multipart_and_by_itself(store):
    s3 = s3_client(store.endpoint("node1"))
    other = s3_client(store.endpoint("node4"))
    s3.put_object(Bucket="wide", Key="tagged", Body=b"t", Tagging="project=blue%20sky&tier=1")
    tags = lambda c, **kw: {t["Key"]: t["Value"] for t in c.get_object_tagging(Bucket="wide", **kw)["TagSet"]}
    assert tags(other, Key="tagged") == {"project": "blue sky", "tier": "1"}
    head = other.head_object(Bucket="wide", Key="tagged")
    etag, modified = head["ETag"], head["LastModified"]
    assert other.get_object(Bucket="wide", Key="tagged")["TagCount"] == 2
    # Changing tags is no new write: the ETag and time stay.
    s3.put_object_tagging(Bucket="wide", Key="tagged", Tagging={"TagSet": [{"Key": "only", "Value": "this"}]})
    assert tags(other, Key="tagged") == {"only": "this"}
    head = other.head_object(Bucket="wide", Key="tagged")
    assert head["ETag"] == etag and head["LastModified"] == modified
    # Copies keep the source's tags, or take the request's.
    s3.copy_object(Bucket="wide", Key="tag-copy", CopySource="wide/tagged")
    assert tags(s3, Key="tag-copy") == {"only": "this"}
    s3.copy_object(Bucket="wide", Key="tag-copy2", CopySource="wide/tagged", TaggingDirective="REPLACE", Tagging="new=1")
    assert tags(s3, Key="tag-copy2") == {"new": "1"}
    s3.delete_object_tagging(Bucket="wide", Key="tagged")
    assert tags(other, Key="tagged") == {}
    assert "TagCount" not in other.get_object(Bucket="wide", Key="tagged")
    # Multipart: tags given at creation.
    uid = s3.create_multipart_upload(Bucket="wide", Key="mp-tagged", Tagging="from=create")["UploadId"]
    part = s3.upload_part(Bucket="wide", Key="mp-tagged", UploadId=uid, PartNumber=1, Body=b"p" * 10)
    s3.complete_multipart_upload(Bucket="wide", Key="mp-tagged", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert tags(other, Key="mp-tagged") == {"from": "create"}
    # S3's limits, with its error.
    too_many = {"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
    assert s3_error(lambda: s3.put_object_tagging(Bucket="wide", Key="tagged", Tagging=too_many)) == ("InvalidTag", 400)
    assert s3_error(lambda: s3.put_object(Bucket="wide", Key="bad-tags", Body=b"x", Tagging="a=1&a=2")) == ("InvalidTag", 400)
    assert s3_error(lambda: s3.get_object_tagging(Bucket="wide", Key="no-such-key")) == ("NoSuchKey", 404)


def test_racing_create_only_writes_let_exactly_one_win(store):
    import threading
    clients = [s3_client(store.endpoint(f"node{i % 4 + 1}")) for i in range(8)]
    outcomes = []

    def create(i):
        try:
            clients[i].put_object(Bucket="wide", Key="once", Body=f"writer {i}".encode(), IfNoneMatch="*")
            outcomes.append(("won", i))
        except botocore.exceptions.ClientError as e:
            outcomes.append((e.response["Error"]["Code"], i))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [i for what, i in outcomes if what == "won"]
    assert len(winners) == 1, outcomes
    assert {what for what, _ in outcomes if what != "won"} == {"PreconditionFailed"}
    body = s3_client(store.endpoint("node1")).get_object(Bucket="wide", Key="once")["Body"].read()
    assert body == f"writer {winners[0]}".encode()


def test_identifiers_that_cannot_be_ids_and_oversized_documents_get_awss_codes(store):
    """A client's mistakes are 4xx with AWS's codes, never a quorum failure (503) that SDKs retry."""
    s3 = s3_client(store.endpoint("node2"))
    s3.put_object(Bucket="wide", Key="ids", Body=b"x")
    for bad in ("garbage", "../../x", "0" * 31, "g" * 32):
        for call in (lambda: s3.get_object(Bucket="wide", Key="ids", VersionId=bad),
                     lambda: s3.delete_object(Bucket="wide", Key="ids", VersionId=bad),
                     lambda: s3.get_object_tagging(Bucket="wide", Key="ids", VersionId=bad),
                     lambda: s3.copy_object(Bucket="wide", Key="copy",
                                            CopySource={"Bucket": "wide", "Key": "ids", "VersionId": bad})):
            assert s3_error(call) == ("InvalidArgument", 400), bad
        assert s3_error(lambda: s3.head_object(Bucket="wide", Key="ids", VersionId=bad))[1] == 400
        failed = s3.delete_objects(Bucket="wide", Delete={"Objects": [{"Key": "ids", "VersionId": bad}]})["Errors"]
        assert [(e["Key"], e["Code"]) for e in failed] == [("ids", "InvalidArgument")]
    # A well-formed id that names nothing is 404, as before.
    assert s3_error(lambda: s3.get_object(Bucket="wide", Key="ids", VersionId="0" * 32))[1] == 404
    assert s3.get_object(Bucket="wide", Key="ids", VersionId="null")["Body"].read() == b"x"
    # An XML document over the limit: MaxMessageLengthExceeded.
    huge = {"Objects": [{"Key": "k" * 1000 + str(i)} for i in range(1100)]}
    assert s3_error(lambda: s3.delete_objects(Bucket="wide", Delete=huge)) == ("MaxMessageLengthExceeded", 400)
    # A presigned URL whose X-Amz-Expires is out of range.
    import urllib.error
    import urllib.request
    v4 = s3_client(store.endpoint("node2"), signature_version="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "wide", "Key": "ids"}, ExpiresIn=60)
    assert "X-Amz-Expires=60" in url and urllib.request.urlopen(url, timeout=10).read() == b"x"
    for expires in ("604801", "0", "soon"):
        bad_url = url.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}")
        try:
            urllib.request.urlopen(bad_url, timeout=10)
            raise AssertionError("accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 400 and b"<Code>AuthorizationQueryParametersError</Code>" in e.read(), expires
