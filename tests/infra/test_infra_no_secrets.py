"""No account id, credential or personal bucket name in infra/ or the workflows: names come from parameters
and pseudo parameters (AWS::AccountId, AWS::Region) and credentials from the caller's environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.helpers import REPO_ROOT

FILES = sorted(
    p
    for folder in ("infra", ".github")
    for p in (REPO_ROOT / folder).rglob("*")
    if p.is_file() and "__pycache__" not in p.parts
)
# No 12-digit number at all: even the AWS SDK for pandas layer (published by an AWS account, under versions that
# differ by region) is a per-environment setting, not a default in the scripts.
AWS_PUBLISHER_ACCOUNTS: set[str] = set()
SECRET_PATTERNS = {
    "access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "secret access key": re.compile(r"(?i)aws_secret_access_key\s*[:=]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "github token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
}


def test_files_are_scanned() -> None:
    names = {p.name for p in FILES}
    assert {"lakehouse.yaml", "deploy.sh", "destroy.sh", "ci.yml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_account_id_or_secret(path: Path) -> None:
    text = path.read_text(errors="ignore")
    for number in re.findall(r"(?<![\d.])\d{12}(?![\d.])", text):
        assert number in AWS_PUBLISHER_ACCOUNTS, (
            f"{path.name}: 12-digit number {number} looks like an account id"
        )
    for kind, pattern in SECRET_PATTERNS.items():
        assert not pattern.search(text), f"{path.name}: contains what looks like a {kind}"


@pytest.mark.parametrize(
    "path", [p for p in FILES if p.suffix in (".yaml", ".yml", ".json", ".sh")], ids=lambda p: p.name
)
def test_no_literal_bucket_name(path: Path) -> None:
    """Every s3:// URI and bucket ARN is built from a variable, never a literal bucket."""
    text = path.read_text()
    for uri in re.findall(r"s3://[^\s\"')]*", text):
        bucket = uri[len("s3://") :].split("/", 1)[0]
        assert bucket.startswith("$") or bucket in ("", "<lake"), f"{path.name}: literal bucket in {uri}"
    for arn in re.findall(r"arn:aws:s3:::[^\s\"')]*", text):
        assert "${" in arn, f"{path.name}: literal bucket ARN {arn}"
    for name in re.findall(r"(?m)^\s+BucketName:\s*(.+)", text):
        assert "${AWS::AccountId}" in name and "${AWS::Region}" in name, f"{path.name}: bucket name {name}"
