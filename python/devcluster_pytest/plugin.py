"""pytest fixtures: a devcluster per test session (per pytest-xdist worker), an S3 client, a fresh
bucket per test, and the cluster itself for failure tests, put back together after each of them.

    def test_upload_survives_a_node_crash(devcluster_faults, devcluster_bucket):
        devcluster_faults.kill("node2")
        my_app.upload(devcluster_bucket, "report.pdf")   # your code, retrying as it should
"""

import uuid

import pytest

from .cluster import Cluster


def pytest_addoption(parser):
    group = parser.getgroup("devcluster")
    group.addoption("--devcluster-nodes", type=int, default=4, help="nodes in the session's cluster (default 4)")
    group.addoption("--devcluster-bin", default=None, help="the devcluster program (default: $DEVCLUSTER_BIN or PATH)")
    group.addoption("--devcluster-tls", action="store_true", help="serve HTTPS (devcluster up --tls); clients trust its CA")


@pytest.fixture(scope="session")
def devcluster(request):
    """The session's cluster (a `Cluster`); each pytest-xdist worker gets its own, on its own ports."""
    cluster = Cluster.start(
        nodes=request.config.getoption("--devcluster-nodes"), binary=request.config.getoption("--devcluster-bin"),
        tls=request.config.getoption("--devcluster-tls"))
    yield cluster
    cluster.close()


@pytest.fixture
def devcluster_faults(devcluster):
    """The session's cluster for a test that breaks it: every fault undone and every node back online
    after the test, so the next one starts whole."""
    yield devcluster
    devcluster.restore()


@pytest.fixture(scope="session")
def devcluster_s3(devcluster):
    """A boto3 client for the session's cluster."""
    return devcluster.client()


@pytest.fixture
def devcluster_bucket(devcluster, devcluster_s3):
    """A fresh bucket for one test, emptied (every version too) and removed afterwards."""
    name = "test-" + uuid.uuid4().hex[:20]
    devcluster_s3.create_bucket(Bucket=name)
    yield name
    try:
        _remove_bucket(devcluster_s3, name)
    except Exception:
        # The test left the cluster broken (a node killed, a partition) and took no devcluster_faults:
        # put it back together, then clean up.
        devcluster.restore()
        _remove_bucket(devcluster_s3, name)


def _remove_bucket(s3, name):
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=name):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=name)
