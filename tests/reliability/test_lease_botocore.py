"""The lease's conditional writes against botocore itself: the version the Glue job is pinned to has them, and a
botocore without them is one line, not a ParamValidationError traceback (no Spark)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore
import botocore.session
import pytest
from moto import mock_aws

from glue_jobs.lease import Holder, LeaseUnsupported, S3Lease
from tests.reliability.helpers import REPO

BUCKET = "lake"
LEASE = f"s3://{BUCKET}/_state/silver/lease.json"
# What glue_jobs/lease.py sends: operation -> the conditional parameters it passes.
LEASE_PARAMETERS = {"PutObject": {"IfNoneMatch", "IfMatch"}, "DeleteObject": {"IfMatch"}}


def _pin(name: str) -> str:
    text = (REPO / "requirements" / "glue.txt").read_text()
    found = re.search(rf"^{re.escape(name)}==(\S+)$", text, re.MULTILINE)
    assert found, f"requirements/glue.txt pins no {name}"
    return found.group(1)


def test_the_glue_job_s_pinned_botocore_has_every_parameter_the_lease_sends() -> None:
    # The installed botocore is the one the tests ran with; the Glue job must get that same one.
    assert _pin("botocore") == botocore.__version__, "requirements/glue.txt and the tested botocore differ"
    assert _pin("boto3") == boto3.__version__
    model = botocore.session.get_session().get_service_model("s3")
    for operation, parameters in LEASE_PARAMETERS.items():
        members = set(model.operation_model(operation).input_shape.members)
        assert parameters <= members, (
            f"botocore {botocore.__version__} {operation} lacks {parameters - members}"
        )
    source = (REPO / "glue_jobs" / "lease.py").read_text()
    sent = set(re.findall(r"\b(If(?:None)?Match)=", source))
    assert sent == {"IfNoneMatch", "IfMatch"}, "the lease sends a parameter this test does not check"


@pytest.fixture
def old_botocore_s3(tmp_path: Path) -> Iterator[object]:
    """A real boto3 S3 client whose service model is this botocore's minus the conditional-write members: the
    model a botocore from before 1.35 loads."""
    data = Path(botocore.__file__).parent / "data" / "s3" / "2006-03-01"
    model_file = data / "service-2.json.gz"
    model = json.loads(gzip.decompress(model_file.read_bytes()))
    for shape in ("PutObjectRequest", "DeleteObjectRequest"):
        for member in ("IfNoneMatch", "IfMatch"):
            model["shapes"][shape]["members"].pop(member, None)
    target = tmp_path / "s3" / "2006-03-01"
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path))
    with mock_aws():
        client = boto3.Session(botocore_session=session).client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_a_botocore_without_conditional_writes_is_one_line_naming_the_pins(old_botocore_s3: object) -> None:
    with pytest.raises(LeaseUnsupported) as refused:
        S3Lease(old_botocore_s3, LEASE, Holder.me("r1", "silver"))
    message = str(refused.value)
    assert "\n" not in message and "requirements/glue.txt" in message and "IfNoneMatch" in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
