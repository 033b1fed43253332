"""The README's worked example: an application that uploads files with retries, and tests that prove
it against a real cluster, including while a node crashes. Run by tests/e2e/test_pytest_plugin.py
with the plugin, alone and with pytest -n 2."""

import os
import time

import botocore


def upload(s3, bucket, key, data, attempts=5):
    """The application's code: PUT with retries on errors a client may retry."""
    for attempt in range(attempts):
        try:
            return s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"]
        except (botocore.exceptions.ClientError, botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectionClosedError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def test_upload_and_read_back(devcluster, devcluster_s3, devcluster_bucket):
    print("endpoint", devcluster.endpoint)  # the runner checks HTTPS is used under --devcluster-tls
    upload(devcluster_s3, devcluster_bucket, "a.txt", b"hello")
    assert devcluster_s3.get_object(Bucket=devcluster_bucket, Key="a.txt")["Body"].read() == b"hello"


def test_uploads_survive_a_node_crash(devcluster_faults, devcluster_bucket):
    s3 = devcluster_faults.client("node1")
    data = {f"f{i}": os.urandom(50_000) for i in range(10)}
    for i, (key, body) in enumerate(data.items()):
        if i == 3:
            devcluster_faults.kill("node2")
        upload(s3, devcluster_bucket, key, body)
    devcluster_faults.wait_for("node2=offline")
    for key, body in data.items():
        assert s3.get_object(Bucket=devcluster_bucket, Key=key)["Body"].read() == body
    # The timeline shows the crash and the others noticing it.
    kinds = [e["event"] for e in devcluster_faults.events()]
    assert "launcher_kill" in kinds and "node_offline" in kinds


def test_the_cluster_is_whole_again_after_a_failure_test(devcluster, devcluster_bucket):
    status = devcluster.status()
    assert all(n["process"] == "running" for n in status["nodes"])


def test_each_test_gets_an_empty_bucket_of_its_own(devcluster_s3, devcluster_bucket):
    assert devcluster_s3.list_objects_v2(Bucket=devcluster_bucket)["KeyCount"] == 0
