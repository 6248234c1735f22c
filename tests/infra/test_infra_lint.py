"""cfn-lint and checkov over infra/: clean, except checkov checks suppressed next to the resource with a reason."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from lakehouse.infra import INFRA
from tests.infra.helpers import BIN, REPO_ROOT

# cfn-lint and checkov take seconds each: make lint runs them too
pytestmark = pytest.mark.slow

TEMPLATES = sorted(INFRA.glob("*.yaml"))
CHECKOV = REPO_ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"


def test_there_is_a_template() -> None:
    assert TEMPLATES, "no CloudFormation template in infra/*.yaml"


@pytest.mark.parametrize("template_path", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_is_clean(template_path: Path) -> None:
    cfn_lint = BIN / "cfn-lint"
    assert cfn_lint.exists(), f"{cfn_lint} not found: run make setup"
    result = subprocess.run([str(cfn_lint), str(template_path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_has_no_failed_check() -> None:
    if not CHECKOV.exists():
        pytest.fail(f"checkov not found at {CHECKOV}: run make setup")
    # Offline and quiet: no download of guidelines or the platform mapping (CI and laptops without network).
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    passed = [c for r in reports for c in r["results"]["passed_checks"]]
    assert not failed, "\n".join(f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in failed)
    assert passed, "checkov ran no check: did it find the templates?"
    # Every suppression carries a reason (checkov stores it as suppress_comment).
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']} is skipped without a reason"
