"""The inner loop's tools: `.pre-commit-config.yaml` runs offline with the venv's pinned tools, and its checks fail
on what they are there to catch."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / ".pre-commit-config.yaml"
BIN = Path(sys.executable).parent


def hooks() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(CONFIG.read_text())
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def run_hook(hook_id: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """A hook's command on the given files, as pre-commit runs it (from the repository root)."""
    entry = shlex.split(hooks()[hook_id]["entry"])
    return subprocess.run(
        [*entry, *map(str, files)], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )


def test_every_hook_is_local_and_runs_a_tool_of_the_venv() -> None:
    """Nothing for pre-commit to download: each hook is `repo: local`, `language: system`, a .venv tool."""
    config = yaml.safe_load(CONFIG.read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    for hook_id, hook in hooks().items():
        assert hook["language"] == "system", hook_id
        tool = shlex.split(hook["entry"])[0]
        assert tool.startswith(".venv/bin/") and (REPO_ROOT / tool).exists(), (hook_id, tool)
    assert {"ruff-check", "ruff-format", "sqlfluff", "yamllint", "notebooks-without-outputs"} <= set(hooks())


@pytest.mark.slow
def test_pre_commit_runs_offline_on_this_repository(tmp_path: Path) -> None:
    files = [
        "lakehouse/config.py",
        "dbt_project.yml",
        "notebooks/exploration.ipynb",
        ".pre-commit-config.yaml",
    ]
    run = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--files", *files],
        cwd=REPO_ROOT,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ruff check" in run.stdout and "Passed" in run.stdout


def test_the_notebook_hook_fails_on_a_notebook_with_outputs(tmp_path: Path) -> None:
    notebook = json.loads((REPO_ROOT / "notebooks" / "exploration.ipynb").read_text())
    code = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["42\n"]}]
    code["execution_count"] = 1
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(notebook, indent=1))
    assert run_hook("notebooks-without-outputs", dirty).returncode != 0
    assert (
        run_hook("notebooks-without-outputs", REPO_ROOT / "notebooks" / "exploration.ipynb").returncode == 0
    )


def test_the_yaml_hook_fails_on_a_duplicate_key(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("models:\n  - name: fct_orders\n    name: gold_orders\n")
    result = run_hook("yamllint", broken)
    assert result.returncode != 0 and "duplicate" in result.stdout, result.stdout
