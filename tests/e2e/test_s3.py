"""The object store through real S3 clients (boto3, aws cli, s3cmd, rclone) against real nodes:
every size boundary, listings, ranges, hostile keys, authentication, and node failures."""

import hashlib
import os
import subprocess
import time
from pathlib import Path

import boto3
import botocore
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from conftest import Cluster, process_alive, wait_until

MiB = 1 << 20
SIZES = [0, 1, MiB - 1, MiB, MiB + 1, 10 * MiB, 100 * MiB]
KEY, SECRET = "minioadmin", "minioadmin"


def s3_client(endpoint, **config):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name="us-east-1",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, **config))


def sha(path_or_bytes):
    h = hashlib.sha256()
    if isinstance(path_or_bytes, (bytes, bytearray)):
        h.update(path_or_bytes)
    else:
        with open(path_or_bytes, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("s3"))
    try:
        c.up(4)
        yield c
    finally:
        c.cleanup()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    out = {}
    for size in SIZES:
        p = d / f"f-{size}"
        with open(p, "wb") as f:
            left = size
            while left:
                n = min(left, 1 << 20)
                f.write(os.urandom(n))
                left -= n
        out[size] = p
    return out


def tool_env(tmp):
    """An environment for CLI tools: credentials, the clients' default multipart thresholds (8 MiB for
    the aws cli, so 10 and 100 MiB go up in parts), and no CA bundle variables (rclone refuses
    AWS_CA_BUNDLE on plain http)."""
    cfg = Path(tmp) / "aws.cfg"
    cfg.write_text("[default]\nregion = us-east-1\n")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_CONFIG_FILE=str(cfg), AWS_DEFAULT_REGION="us-east-1")
    env.pop("AWS_CA_BUNDLE", None)
    return env


def run(cmd, env, timeout=300):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{cmd} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return p.stdout


def test_boto3_round_trips_every_size_through_different_nodes(store, files, tmp_path):
    put = s3_client(store.endpoint("node2"))
    get = s3_client(store.endpoint("node3"))
    put.create_bucket(Bucket="boto")
    for size, path in files.items():
        data = path.read_bytes()
        r = put.put_object(Bucket="boto", Key=f"sizes/{size}", Body=data, ContentType="application/x-test", Metadata={"size": str(size)})
        assert r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
        got = get.get_object(Bucket="boto", Key=f"sizes/{size}")
        assert sha(got["Body"].read()) == sha(data), size
        assert got["ContentLength"] == size and got["ContentType"] == "application/x-test" and got["Metadata"] == {"size": str(size)}
        head = get.head_object(Bucket="boto", Key=f"sizes/{size}")
        assert head["ContentLength"] == size and head["ETag"] == r["ETag"]


def test_a_small_last_block_is_stored_in_order_on_every_node(store):
    # boto3 streams its body in pieces (aws-chunked): a last block of a few bytes is coded at once while
    # the block before it is still being handed to the nodes. A regression once wrote them out of order.
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="tails")
    for i, size in enumerate([3 * MiB + 5, 2 * MiB + 17, MiB + 1] * 3):
        data = os.urandom(size)
        s3.put_object(Bucket="tails", Key=f"t{i}", Body=data)
        assert sha(s3.get_object(Bucket="tails", Key=f"t{i}")["Body"].read()) == sha(data)
    p = store.run("verify", check=False)
    assert p.returncode == 0, p.stdout[-2000:]


def test_aws_cli_copies_every_size_both_ways(store, files, tmp_path):
    env = tool_env(tmp_path)
    endpoint = store.endpoint("node1")
    run(["aws", "--endpoint-url", endpoint, "s3", "mb", "s3://awscli"], env)
    for size, path in files.items():
        run(["aws", "--endpoint-url", store.endpoint("node4"), "s3", "cp", str(path), f"s3://awscli/f-{size}", "--no-progress"], env)
        back = tmp_path / f"back-{size}"
        run(["aws", "--endpoint-url", endpoint, "s3", "cp", f"s3://awscli/f-{size}", str(back), "--no-progress"], env)
        assert sha(back) == sha(path), size
    listing = run(["aws", "--endpoint-url", endpoint, "s3", "ls", "s3://awscli/"], env)
    assert listing.count("f-") == len(SIZES)
    run(["aws", "--endpoint-url", endpoint, "s3", "rm", "s3://awscli/f-0"], env)
    out = run(["aws", "--endpoint-url", endpoint, "s3api", "list-objects-v2", "--bucket", "awscli", "--prefix", "f-1"], env)
    assert '"Key": "f-1"' in out and "f-0" not in out


def test_s3cmd_puts_and_gets_every_size(store, files, tmp_path):
    port = store.port("node1")
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = {KEY}\nsecret_key = {SECRET}\nhost_base = 127.0.0.1:{port}\nhost_bucket = 127.0.0.1:{port}\n"
                   "use_https = False\nsignature_v2 = False\n")
    env = tool_env(tmp_path)
    run(["s3cmd", "-c", str(cfg), "mb", "s3://s3cmd"], env)
    for size, path in files.items():
        run(["s3cmd", "-c", str(cfg), "put", "--multipart-chunk-size-mb=5", str(path), f"s3://s3cmd/f-{size}"], env)
        back = tmp_path / f"back-{size}"
        run(["s3cmd", "-c", str(cfg), "get", "--force", f"s3://s3cmd/f-{size}", str(back)], env)
        assert sha(back) == sha(path), size
    assert run(["s3cmd", "-c", str(cfg), "ls", "s3://s3cmd"], env).count("s3://s3cmd/f-") == len(SIZES)


def test_rclone_copies_checks_and_syncs_a_tree(store, files, tmp_path):
    env = tool_env(tmp_path)
    env.update(RCLONE_CONFIG_DC_TYPE="s3", RCLONE_CONFIG_DC_PROVIDER="Minio", RCLONE_CONFIG_DC_ACCESS_KEY_ID=KEY,
               RCLONE_CONFIG_DC_SECRET_ACCESS_KEY=SECRET, RCLONE_CONFIG_DC_ENDPOINT=store.endpoint("node2"),
               # Chunked (multipart) uploads from 5 MiB, so 10 and 100 MiB go up in parts.
               RCLONE_S3_UPLOAD_CUTOFF="5M", RCLONE_S3_CHUNK_SIZE="5M")
    src = tmp_path / "src"
    (src / "nested" / "deeper").mkdir(parents=True)
    for size, path in files.items():
        (src / ("nested/deeper" if size % 2 else "nested") / f"f-{size}").write_bytes(path.read_bytes())
    run(["rclone", "mkdir", "dc:rclone"], env)
    run(["rclone", "copy", str(src), "dc:rclone/tree"], env)
    run(["rclone", "check", str(src), "dc:rclone/tree"], env)
    back = tmp_path / "back"
    run(["rclone", "copy", "dc:rclone/tree", str(back)], env)
    assert subprocess.run(["diff", "-r", str(src), str(back)]).returncode == 0


def test_listing_with_prefixes_delimiters_and_pagination(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="listing")
    keys = [f"photos/{y}/{m:02d}/img{i}.jpg" for y in (2023, 2024) for m in (1, 2) for i in range(3)] + ["photos/readme", "top.txt", "ünï cødé/x"]
    for k in keys:
        s3.put_object(Bucket="listing", Key=k, Body=k.encode())
    top = s3.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["photos/", "ünï cødé/"]
    assert [o["Key"] for o in top["Contents"]] == ["top.txt"]
    years = s3.list_objects_v2(Bucket="listing", Prefix="photos/", Delimiter="/")
    assert [p["Prefix"] for p in years["CommonPrefixes"]] == ["photos/2023/", "photos/2024/"]
    assert [o["Key"] for o in years["Contents"]] == ["photos/readme"]
    seen = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="listing", PaginationConfig={"PageSize": 5}):
        assert page["KeyCount"] <= 5
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == sorted(keys, key=lambda k: k.encode())
    after = s3.list_objects_v2(Bucket="listing", StartAfter="photos/2024/02/img2.jpg")
    assert [o["Key"] for o in after["Contents"]] == ["photos/readme", "top.txt", "ünï cødé/x"]
    v1 = s3.list_objects(Bucket="listing", Prefix="photos/2023/", MaxKeys=4)
    assert v1["IsTruncated"] and len(v1["Contents"]) == 4
    encoded = s3.list_objects_v2(Bucket="listing", Prefix="ünï", EncodingType="url")
    # Asked for explicitly, the encoding reaches the caller as sent (boto3 decodes only when it asked itself).
    from urllib.parse import quote
    assert encoded["Contents"][0]["Key"] == quote("ünï cødé/x", safe="/")


def test_ranges_return_the_exact_bytes(store, files):
    s3 = s3_client(store.endpoint("node1"))
    data = files[10 << 20].read_bytes()
    s3.create_bucket(Bucket="ranges")
    s3.put_object(Bucket="ranges", Key="r", Body=data)
    for spec, expect in [("bytes=0-0", data[:1]), ("bytes=1048570-1048600", data[1048570:1048601]), ("bytes=-100", data[-100:]),
                         ("bytes=10485000-", data[10485000:]), ("bytes=5-99999999999", data[5:])]:
        r = s3.get_object(Bucket="ranges", Key="r", Range=spec)
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert r["Body"].read() == expect, spec
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket="ranges", Key="r", Range="bytes=99999999-")
    assert e.value.response["Error"]["Code"] == "InvalidRange" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


@pytest.mark.parametrize("key,code", [
    ("../etc/passwd", "XMinioInvalidObjectName"), ("a/../../b", "XMinioInvalidObjectName"), ("a//b", "XMinioInvalidObjectName"),
    ("./x", "XMinioInvalidObjectName"), ("k" * 1025, "KeyTooLongError"), ("a\x00b", "XMinioInvalidObjectName"),
])
def test_hostile_keys_get_the_right_error_and_never_escape(store, key, code):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="hostile") if "hostile" not in [b["Name"] for b in s3.list_buckets()["Buckets"]] else None
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="hostile", Key=key, Body=b"x")
    assert e.value.response["Error"]["Code"] == code
    for node in ("node1", "node2", "node3", "node4"):
        assert not (store.dir / node / "etc").exists() and not (store.dir / "etc").exists()


def test_unicode_spaces_and_percent_keys_work(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="names")
    for key in ["ünïcødé/日本語.txt", "with space/and+plus", "100%/done", "dir/", "emoji-😀", "a~b!c'(d)*e"]:
        s3.put_object(Bucket="names", Key=key, Body=key.encode())
        assert s3.get_object(Bucket="names", Key=key)["Body"].read() == key.encode()
    assert len(s3.list_objects_v2(Bucket="names")["Contents"]) == 6


def test_authentication_failures_are_s3_errors(store):
    good = s3_client(store.endpoint("node1"))
    good.create_bucket(Bucket="auth")
    wrong_secret = boto3.client("s3", endpoint_url=store.endpoint("node1"), aws_access_key_id=KEY, aws_secret_access_key="wrong-secret",
                                region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        wrong_secret.list_objects_v2(Bucket="auth")
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    stranger = boto3.client("s3", endpoint_url=store.endpoint("node1"), aws_access_key_id="nobody", aws_secret_access_key="x" * 10,
                            region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        stranger.list_buckets()
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    anonymous = boto3.client("s3", endpoint_url=store.endpoint("node1"), region_name="us-east-1",
                             config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        anonymous.get_object(Bucket="auth", Key="x")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # boto3's default presigned URL is signature version 2; with s3v4 it is version 4. Both work, like
    # `curl -T` (no Content-Type: version 2 signs it).
    import http.client
    from urllib.parse import urlsplit
    v4 = s3_client(store.endpoint("node1"), signature_version="s3v4")
    for client, key in ((good, "pre-v2"), (v4, "pre-v4")):
        url = urlsplit(client.generate_presigned_url("put_object", Params={"Bucket": "auth", "Key": key}, ExpiresIn=60))
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("PUT", f"{url.path}?{url.query}", body=b"presigned!")
        assert conn.getresponse().status == 200, key
        assert good.get_object(Bucket="auth", Key=key)["Body"].read() == b"presigned!"


def test_virtual_host_addressing(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="vhost")
    s3.put_object(Bucket="vhost", Key="a/b.txt", Body=b"virtual")
    port = store.port("node1")
    request = AWSRequest(method="GET", url=f"http://127.0.0.1:{port}/a/b.txt", headers={"Host": f"vhost.localhost:{port}"})
    request.context["payload_signing_enabled"] = False
    SigV4Auth(Credentials(KEY, SECRET), "s3", "us-east-1").add_auth(request)
    import urllib.request
    req = urllib.request.Request(request.url, headers=dict(request.headers))
    assert urllib.request.urlopen(req).read() == b"virtual"


def test_buckets_create_list_delete_and_their_errors(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="lifecycle-test")
    # AWS in us-east-1: re-creating your own bucket answers 200 (409 BucketAlreadyOwnedByYou elsewhere).
    assert s3.create_bucket(Bucket="lifecycle-test")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "lifecycle-test" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.get_bucket_location(Bucket="lifecycle-test")["LocationConstraint"] is None
    s3.put_object(Bucket="lifecycle-test", Key="k", Body=b"1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket="lifecycle-test")
    assert e.value.response["Error"]["Code"] == "BucketNotEmpty"
    s3.delete_object(Bucket="lifecycle-test", Key="k")
    s3.delete_bucket(Bucket="lifecycle-test")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket="lifecycle-test")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    for bad in ["Bad_Name", "ab", "minio"]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.create_bucket(Bucket=bad)
        assert e.value.response["Error"]["Code"] == "InvalidBucketName"


def test_bad_content_md5_and_signed_payload_are_refused_and_store_nothing(store):
    s3 = s3_client(store.endpoint("node1"))
    s3.create_bucket(Bucket="digests")
    import base64
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket="digests", Key="md5", Body=b"hello", ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
    assert e.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket="digests", Key="md5")


# MARK: Failures

def killable(tmp_path, nodes):
    c = Cluster(tmp_path)
    try:
        c.up(nodes)
    except BaseException:
        c.cleanup()
        raise
    return c


def parity_for(nodes):
    return {2: 1, 3: 1, 4: 2, 5: 2, 8: 4}[nodes]


@pytest.mark.parametrize("nodes", [2, 3, 4, 5, 8])
def test_reads_survive_parity_failures_and_writes_need_write_quorum(tmp_path, nodes):
    c = killable(tmp_path, nodes)
    try:
        m = parity_for(nodes)
        k = nodes - m
        write_quorum = k + 1 if k == m else k
        s3 = s3_client(c.endpoint("node1"))
        s3.create_bucket(Bucket="fail")
        objects = {f"o{size}": os.urandom(size) for size in (0, 1000, (1 << 20) + 1, 3 << 20)}
        for key, data in objects.items():
            s3.put_object(Bucket="fail", Key=key, Body=data)
        victims = [f"node{i}" for i in range(nodes, nodes - m, -1)]
        # Kill as many as write quorum allows: writes still work.
        can_lose_for_writes = nodes - write_quorum
        if can_lose_for_writes:
            c.run("kill", ",".join(victims[:can_lose_for_writes]))
            c.run("wait-for", f"{victims[0]}=offline", "--seen-by", "node1", "--within", "5s")
            s3.put_object(Bucket="fail", Key="during", Body=b"written while degraded")
            objects["during"] = b"written while degraded"
        # Then as many as parity: every object still reads back byte-exact; writes refuse with 503.
        c.run("kill", ",".join(victims))
        for v in victims:
            c.run("wait-for", f"{v}=offline", "--seen-by", "node1", "--within", "5s")
        for key, data in objects.items():
            assert s3.get_object(Bucket="fail", Key=key)["Body"].read() == data, key
        if len(victims) > can_lose_for_writes:
            with pytest.raises(botocore.exceptions.ClientError) as e:
                s3.put_object(Bucket="fail", Key="refused", Body=b"x")
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert e.value.response["Error"]["Code"] == "ServiceUnavailable" and "quorum" in e.value.response["Error"]["Message"]
        # One more than parity: reads fail cleanly.
        if nodes - m - 1 >= 1:
            extra = f"node{nodes - m}"
            c.run("kill", extra)
            c.run("wait-for", f"{extra}=offline", "--seen-by", "node1", "--within", "5s")
            with pytest.raises(botocore.exceptions.ClientError) as e:
                s3.get_object(Bucket="fail", Key="o1000")
            assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            victims.append(extra)
        # Everyone back: everything written before reads back intact.
        c.run("start", ",".join(victims))
        for key, data in objects.items():
            assert s3.get_object(Bucket="fail", Key=key)["Body"].read() == data, key
        assert "refused" not in [o["Key"] for o in s3.list_objects_v2(Bucket="fail").get("Contents", [])]
    finally:
        c.cleanup()


def test_a_shard_flipped_on_disk_is_detected_and_the_object_still_reads_correctly(tmp_path):
    c = killable(tmp_path, 4)
    try:
        s3 = s3_client(c.endpoint("node1"))
        s3.create_bucket(Bucket="rot")
        data = os.urandom(5 << 20)
        s3.put_object(Bucket="rot", Key="photo.jpg", Body=data)
        shard_files = sorted((c.dir / "node2" / "data" / "rot" / "photo.jpg").glob("%data-*/part.1"))
        assert len(shard_files) == 1
        with open(shard_files[0], "r+b") as f:
            f.seek(5000)
            b = f.read(1)
            f.seek(5000)
            f.write(bytes([b[0] ^ 0xFF]))
        assert s3.get_object(Bucket="rot", Key="photo.jpg")["Body"].read() == data
        assert s3.get_object(Bucket="rot", Key="photo.jpg", Range="bytes=0-100")["Body"].read() == data[:101]
        log = "".join(c.log(n) for n in ("node1", "node2", "node3", "node4"))
        assert "degraded read" in log
    finally:
        c.cleanup()


def test_an_object_with_fewer_than_k_readable_shards_gets_a_503_not_a_cut_body(tmp_path):
    c = killable(tmp_path, 4)
    try:
        s3 = s3_client(c.endpoint("node1"))
        s3.create_bucket(Bucket="lost")
        s3.put_object(Bucket="lost", Key="big", Body=os.urandom(3 << 20))
        for n in ("node2", "node3", "node4"):
            for part in (c.dir / n / "data" / "lost" / "big").glob("%data-*/part.1"):
                part.unlink()
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.get_object(Bucket="lost", Key="big")
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
    finally:
        c.cleanup()


def test_a_bucket_made_while_a_node_was_down_reaches_it_at_its_first_write(tmp_path):
    c = killable(tmp_path, 4)
    try:
        s3 = s3_client(c.endpoint("node1"))
        c.run("kill", "node4")
        c.run("wait-for", "node4=offline", "--seen-by", "node1", "--within", "5s")
        s3.create_bucket(Bucket="late")
        c.run("start", "node4")
        c.run("kill", "node3")
        c.run("wait-for", "node3=offline", "--seen-by", "node1", "--within", "5s")
        s3.put_object(Bucket="late", Key="k", Body=b"needs node4")
        assert s3.get_object(Bucket="late", Key="k")["Body"].read() == b"needs node4"
        assert (c.dir / "node4" / "data" / "late" / "k").is_dir()
    finally:
        c.cleanup()
