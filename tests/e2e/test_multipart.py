"""Multipart uploads through real clients (boto3, the minio SDK, aws cli s3api) against real nodes:
parts erasure-coded like objects, completion checks, listings, aborts, part reads, and failures."""

import base64
import hashlib
import io
import os
import subprocess
import threading

import boto3
import botocore
import pytest
from boto3.s3.transfer import TransferConfig

from conftest import Cluster, four_nodes, s3_error
from test_s3 import KEY, SECRET, run, s3_client, tool_env

MiB = 1 << 20


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with four_nodes(tmp_path_factory.mktemp("multipart"), "mpu") as c:
        yield c


def upload_parts(s3, key, parts):
    upload = s3.create_multipart_upload(Bucket="mpu", Key=key, ContentType="video/mp4", Metadata={"owner": "ada"})
    uid = upload["UploadId"]
    done = []
    for i, data in enumerate(parts, start=1):
        r = s3.upload_part(Bucket="mpu", Key=key, UploadId=uid, PartNumber=i, Body=data)
        assert r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return uid, done


def test_boto3_upload_file_goes_up_in_parts_and_reads_back_byte_exact(store, tmp_path):
    data = os.urandom(23 * MiB + 12345)
    path = tmp_path / "big"
    path.write_bytes(data)
    s3 = s3_client(store.endpoint("node2"))
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)
    s3.upload_file(str(path), "mpu", "upload-file", Config=config)
    head = s3.head_object(Bucket="mpu", Key="upload-file")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-5"')
    other = s3_client(store.endpoint("node3"))
    assert other.get_object(Bucket="mpu", Key="upload-file")["Body"].read() == data
    # A range across a part boundary, and one part by number.
    got = other.get_object(Bucket="mpu", Key="upload-file", Range=f"bytes={5 * MiB - 100}-{5 * MiB + 99}")
    assert got["Body"].read() == data[5 * MiB - 100:5 * MiB + 100]
    part = other.get_object(Bucket="mpu", Key="upload-file", PartNumber=3)
    assert part["PartsCount"] == 5 and part["Body"].read() == data[10 * MiB:15 * MiB]


def test_the_etag_attributes_and_completion_result_are_s3s(store):
    s3 = s3_client(store.endpoint("node1"))
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail"]
    uid, done = upload_parts(s3, "attrs", parts)
    r = s3.complete_multipart_upload(Bucket="mpu", Key="attrs", UploadId=uid, MultipartUpload={"Parts": done})
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3"
    assert r["ETag"] == f'"{expected}"' and r["Key"] == "attrs" and r["Bucket"] == "mpu"
    head = s3.head_object(Bucket="mpu", Key="attrs")
    assert head["ContentType"] == "video/mp4" and head["Metadata"] == {"owner": "ada"}
    assert head["ContentLength"] == 10 * MiB + 4
    assert s3.get_object(Bucket="mpu", Key="attrs")["Body"].read() == b"".join(parts)
    # The upload is gone once completed, but completing it again (a retry after a lost answer) answers the same.
    assert s3_error(lambda: s3.list_parts(Bucket="mpu", Key="attrs", UploadId=uid))[0] == "NoSuchUpload"
    again = s3.complete_multipart_upload(Bucket="mpu", Key="attrs", UploadId=uid, MultipartUpload={"Parts": done})
    assert again["ETag"] == r["ETag"]
    # Not once the object is overwritten: the upload is no longer the object.
    s3.put_object(Bucket="mpu", Key="attrs", Body=b"newer")
    complete = lambda: s3.complete_multipart_upload(Bucket="mpu", Key="attrs", UploadId=uid, MultipartUpload={"Parts": done})
    assert s3_error(complete) == ("NoSuchUpload", 404)


def test_completion_refuses_missing_reordered_and_small_parts(store):
    s3 = s3_client(store.endpoint("node1"))
    uid, done = upload_parts(s3, "refused", [os.urandom(5 * MiB), b"small", b"last"])
    complete = lambda parts: s3.complete_multipart_upload(
        Bucket="mpu", Key="refused", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3_error(lambda: complete([done[0], {"PartNumber": 2, "ETag": '"%s"' % ("0" * 32)}])) == ("InvalidPart", 400)
    assert s3_error(lambda: complete([done[0], {"PartNumber": 9, "ETag": done[1]["ETag"]}])) == ("InvalidPart", 400)
    assert s3_error(lambda: complete([done[1], done[0]])) == ("InvalidPartOrder", 400)
    assert s3_error(lambda: complete(done)) == ("EntityTooSmall", 400)
    # Nothing became visible, and the upload is still there to fix.
    assert s3_error(lambda: s3.head_object(Bucket="mpu", Key="refused"))[1] == 404
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="mpu", Key="refused", UploadId=uid)["Parts"]] == [1, 2, 3]
    # Completing with the parts that qualify works.
    s3.complete_multipart_upload(Bucket="mpu", Key="refused", UploadId=uid, MultipartUpload={"Parts": [done[0], done[2]]})
    assert s3.head_object(Bucket="mpu", Key="refused")["ContentLength"] == 5 * MiB + 4


def test_a_part_uploaded_again_replaces_the_first(store):
    s3 = s3_client(store.endpoint("node4"))
    uid, done = upload_parts(s3, "again", [b"first version of the only part"])
    r = s3.upload_part(Bucket="mpu", Key="again", UploadId=uid, PartNumber=1, Body=b"second")
    s3.complete_multipart_upload(
        Bucket="mpu", Key="again", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]})
    assert s3.get_object(Bucket="mpu", Key="again")["Body"].read() == b"second"


def test_list_parts_pages_and_list_uploads_and_abort(store):
    s3 = s3_client(store.endpoint("node1"))
    uid, _ = upload_parts(s3, "dir/listed", [b"a", b"b", b"c"])
    other = s3.create_multipart_upload(Bucket="mpu", Key="dir/sub/other")["UploadId"]
    first = s3.list_parts(Bucket="mpu", Key="dir/listed", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2] and first["IsTruncated"]
    rest = s3.list_parts(Bucket="mpu", Key="dir/listed", UploadId=uid, PartNumberMarker=first["NextPartNumberMarker"])
    assert [(p["PartNumber"], p["Size"]) for p in rest["Parts"]] == [(3, 1)] and not rest["IsTruncated"]
    uploads = s3.list_multipart_uploads(Bucket="mpu", Prefix="dir/")
    assert {(u["Key"], u["UploadId"]) for u in uploads["Uploads"]} >= {("dir/listed", uid), ("dir/sub/other", other)}
    nested = s3.list_multipart_uploads(Bucket="mpu", Prefix="dir/", Delimiter="/")
    assert [p["Prefix"] for p in nested.get("CommonPrefixes", [])] == ["dir/sub/"]
    s3.abort_multipart_upload(Bucket="mpu", Key="dir/listed", UploadId=uid)
    assert s3_error(lambda: s3.list_parts(Bucket="mpu", Key="dir/listed", UploadId=uid)) == ("NoSuchUpload", 404)
    assert s3_error(lambda: s3.upload_part(Bucket="mpu", Key="dir/listed", UploadId=uid, PartNumber=1, Body=b"x"))[0] == "NoSuchUpload"
    s3.abort_multipart_upload(Bucket="mpu", Key="dir/sub/other", UploadId=other)
    remaining = s3.list_multipart_uploads(Bucket="mpu", Prefix="dir/").get("Uploads", [])
    assert remaining == []
    # An upload id of another key is not this key's.
    uid2, _ = upload_parts(s3, "mine", [b"x"])
    assert s3_error(lambda: s3.list_parts(Bucket="mpu", Key="not-mine", UploadId=uid2))[0] == "NoSuchUpload"


def test_the_minio_sdk_and_aws_cli_s3api_multipart_calls(store, tmp_path):
    from minio import Minio
    client = Minio(f"127.0.0.1:{store.port('node3')}", access_key=KEY, secret_key=SECRET, secure=False)
    data = os.urandom(12 * MiB + 7)
    client.put_object("mpu", "minio-sdk", io.BytesIO(data), len(data), part_size=5 * MiB)
    assert client.get_object("mpu", "minio-sdk").read() == data
    env = tool_env(tmp_path)
    endpoint = store.endpoint("node2")
    out = run(["aws", "--endpoint-url", endpoint, "s3api", "create-multipart-upload", "--bucket", "mpu", "--key", "cli",
               "--query", "UploadId", "--output", "text"], env).strip()
    part = tmp_path / "part"
    part.write_bytes(b"cli part")
    etag = run(["aws", "--endpoint-url", endpoint, "s3api", "upload-part", "--bucket", "mpu", "--key", "cli",
                "--upload-id", out, "--part-number", "1", "--body", str(part), "--query", "ETag", "--output", "text"], env).strip()
    parts = tmp_path / "parts.json"
    parts.write_text('{"Parts": [{"PartNumber": 1, "ETag": %s}]}' % etag)
    run(["aws", "--endpoint-url", endpoint, "s3api", "complete-multipart-upload", "--bucket", "mpu", "--key", "cli",
         "--upload-id", out, "--multipart-upload", f"file://{parts}"], env)
    back = tmp_path / "back"
    run(["aws", "--endpoint-url", endpoint, "s3", "cp", "s3://mpu/cli", str(back), "--no-progress"], env)
    assert back.read_bytes() == b"cli part"


def test_an_upload_survives_a_dead_node_and_completion_needs_write_quorum(tmp_path):
    c = Cluster(tmp_path)
    c.up(4)
    try:
        s3 = s3_client(c.endpoint("node1"))
        s3.create_bucket(Bucket="mpu")
        parts = [os.urandom(5 * MiB), os.urandom(3 * MiB)]
        uid, done = upload_parts(s3, "k", parts[:1])
        c.run("kill", "node3")
        c.run("wait-for", "node3=offline", "--seen-by", "node1", "--within", "5s")
        r = s3.upload_part(Bucket="mpu", Key="k", UploadId=uid, PartNumber=2, Body=parts[1])
        done.append({"PartNumber": 2, "ETag": r["ETag"]})
        s3.complete_multipart_upload(Bucket="mpu", Key="k", UploadId=uid, MultipartUpload={"Parts": done})
        c.run("kill", "node4")
        c.run("wait-for", "node4=offline", "--seen-by", "node1", "--within", "5s")
        assert s3.get_object(Bucket="mpu", Key="k")["Body"].read() == b"".join(parts)
        # Two of four down: below write quorum, an upload cannot start.
        assert s3_error(lambda: s3.create_multipart_upload(Bucket="mpu", Key="k2")) == ("ServiceUnavailable", 503)
        c.run("start", "node3,node4")
        assert s3_client(c.endpoint("node4")).get_object(Bucket="mpu", Key="k")["Body"].read() == b"".join(parts)
    finally:
        c.cleanup()


def test_multipart_checksums_full_object_and_composite(store):
    from awscrt import checksums as crt

    s3 = s3_client(store.endpoint("node1"))
    plain = s3_client(store.endpoint("node2"), request_checksum_calculation="when_required")
    parts = [os.urandom(5 * MiB + 7), os.urandom(3 * MiB + 1)]
    b64 = lambda value, width: base64.b64encode(value.to_bytes(width, "big")).decode()
    whole = b64(crt.crc32c(parts[0] + parts[1]), 4)

    # FULL_OBJECT CRC32C: one part sent with its checksum, one without (the server computes it anyway).
    upload = s3.create_multipart_upload(Bucket="mpu", Key="full", ChecksumAlgorithm="CRC32C",
                                        ChecksumType="FULL_OBJECT")
    assert (upload["ChecksumAlgorithm"], upload["ChecksumType"]) == ("CRC32C", "FULL_OBJECT")
    uid = upload["UploadId"]
    first = s3.upload_part(Bucket="mpu", Key="full", UploadId=uid, PartNumber=1, Body=parts[0],
                           ChecksumAlgorithm="CRC32C")
    second = plain.upload_part(Bucket="mpu", Key="full", UploadId=uid, PartNumber=2, Body=parts[1])
    sums = [b64(crt.crc32c(p), 4) for p in parts]
    assert [first["ChecksumCRC32C"], second["ChecksumCRC32C"]] == sums
    listed = s3.list_parts(Bucket="mpu", Key="full", UploadId=uid)
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC32C", "FULL_OBJECT")
    assert [p["ChecksumCRC32C"] for p in listed["Parts"]] == sums
    uploads = s3.list_multipart_uploads(Bucket="mpu", Prefix="full")["Uploads"]
    assert [(u["ChecksumAlgorithm"], u["ChecksumType"]) for u in uploads] == [("CRC32C", "FULL_OBJECT")]
    named = [{"PartNumber": i + 1, "ETag": r["ETag"], "ChecksumCRC32C": sums[i]} for i, r in enumerate([first, second])]

    # A part named with another checksum, or a whole-object checksum that differs: refused, nothing made.
    wrong = [dict(named[0], ChecksumCRC32C=sums[1]), named[1]]
    assert s3_error(lambda: s3.complete_multipart_upload(
        Bucket="mpu", Key="full", UploadId=uid, MultipartUpload={"Parts": wrong})) == ("InvalidPart", 400)
    assert s3_error(lambda: s3.complete_multipart_upload(
        Bucket="mpu", Key="full", UploadId=uid, MultipartUpload={"Parts": named},
        ChecksumCRC32C=sums[0])) == ("BadDigest", 400)
    assert s3_error(lambda: s3.head_object(Bucket="mpu", Key="full"))[1] == 404

    done = s3.complete_multipart_upload(Bucket="mpu", Key="full", UploadId=uid, MultipartUpload={"Parts": named},
                                        ChecksumCRC32C=whole)
    assert (done["ChecksumCRC32C"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    head = s3.head_object(Bucket="mpu", Key="full", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32C"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = s3.get_object(Bucket="mpu", Key="full", ChecksumMode="ENABLED")
    assert got["Body"].read() == parts[0] + parts[1] and got["ChecksumCRC32C"] == whole

    # CRC64NVME is full-object by default; a composite SHA-256 is of the parts' digests.
    upload = s3.create_multipart_upload(Bucket="mpu", Key="nvme", ChecksumAlgorithm="CRC64NVME")
    assert upload["ChecksumType"] == "FULL_OBJECT"
    r = [plain.upload_part(Bucket="mpu", Key="nvme", UploadId=upload["UploadId"], PartNumber=i + 1, Body=p)
         for i, p in enumerate(parts)]
    done = s3.complete_multipart_upload(Bucket="mpu", Key="nvme", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": x["ETag"]} for i, x in enumerate(r)]})
    assert done["ChecksumCRC64NVME"] == b64(crt.crc64nvme(parts[0] + parts[1]), 8)
    upload = s3.create_multipart_upload(Bucket="mpu", Key="sha", ChecksumAlgorithm="SHA256", ChecksumType="COMPOSITE")
    r = [plain.upload_part(Bucket="mpu", Key="sha", UploadId=upload["UploadId"], PartNumber=i + 1, Body=p)
         for i, p in enumerate(parts)]
    done = s3.complete_multipart_upload(Bucket="mpu", Key="sha", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": x["ETag"]} for i, x in enumerate(r)]})
    digests = b"".join(hashlib.sha256(p).digest() for p in parts)
    assert done["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(digests).digest()).decode() + "-2"
    assert done["ChecksumType"] == "COMPOSITE"

    # Pairs S3 refuses.
    assert s3_error(lambda: s3.create_multipart_upload(
        Bucket="mpu", Key="x", ChecksumAlgorithm="SHA1", ChecksumType="FULL_OBJECT")) == ("InvalidRequest", 400)
    assert s3_error(lambda: s3.create_multipart_upload(
        Bucket="mpu", Key="x", ChecksumAlgorithm="CRC64NVME", ChecksumType="COMPOSITE")) == ("InvalidRequest", 400)


def test_a_part_uploaded_by_racing_clients_is_one_of_them_on_every_node(store):
    """Uploads of one part number that overlap commit one after the other: the nodes keep the same one,
    so the upload completes with it (before, nodes could keep different ones and none reach a quorum)."""
    s3 = s3_client(store.endpoint("node1"))
    clients = [s3_client(store.endpoint(f"node{i}")) for i in (1, 2, 3)]
    for round_ in range(5):
        key = f"raced-{round_}"
        uid = s3.create_multipart_upload(Bucket="mpu", Key=key)["UploadId"]
        bodies = {}
        for c in clients:
            body = os.urandom(MiB + 17)
            bodies[hashlib.md5(body).hexdigest()] = body

        def send(client, body):
            client.upload_part(Bucket="mpu", Key=key, UploadId=uid, PartNumber=1, Body=body)

        threads = [threading.Thread(target=send, args=(c, b)) for c, b in zip(clients, bodies.values())]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        listed = s3.list_parts(Bucket="mpu", Key=key, UploadId=uid)["Parts"]
        assert len(listed) == 1 and listed[0]["ETag"].strip('"') in bodies
        s3.complete_multipart_upload(Bucket="mpu", Key=key, UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": listed[0]["ETag"]}]})
        assert s3.get_object(Bucket="mpu", Key=key)["Body"].read() == bodies[listed[0]["ETag"].strip('"')]
    assert store.run("verify", check=False).returncode == 0


@pytest.mark.parametrize("upload_id", ["garbage", "../../x", "a" * 65, "%00"])
def test_a_malformed_upload_id_is_no_such_upload_on_every_call(store, upload_id):
    """A client's mistake, not an outage: 404 NoSuchUpload (AWS's answer), never 503 with Retry-After."""
    s3 = s3_client(store.endpoint("node3"))
    calls = [
        lambda: s3.upload_part(Bucket="mpu", Key="k", UploadId=upload_id, PartNumber=1, Body=b"x"),
        lambda: s3.list_parts(Bucket="mpu", Key="k", UploadId=upload_id),
        lambda: s3.complete_multipart_upload(Bucket="mpu", Key="k", UploadId=upload_id,
                                             MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00"'}]}),
        lambda: s3.abort_multipart_upload(Bucket="mpu", Key="k", UploadId=upload_id),
        lambda: s3.upload_part_copy(Bucket="mpu", Key="k", UploadId=upload_id, PartNumber=1,
                                    CopySource={"Bucket": "mpu", "Key": "full"}),
    ]
    s3.put_object(Bucket="mpu", Key="full", Body=b"source")
    for call in calls:
        assert s3_error(call) == ("NoSuchUpload", 404)
