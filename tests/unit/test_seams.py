"""The seams hold: callers reach silver's commit protocol only through ``glue_jobs.table.SilverTable``, and
storage only through what ``glue_jobs.storage.Storage`` offers, never by checking which storage it is; the tools
(the Athena stand-in among them) stand on the shipped packages alone, never on the tests."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STORAGE_TYPE_CHECK = re.compile(r"isinstance\([^)]*\b(LocalStorage|S3Storage)\b")
# the protocol's own modules: a caller outside glue_jobs goes through glue_jobs.table instead
PROTOCOL_INTERNALS = {"glue_jobs.commit", "glue_jobs.journal", "glue_jobs.lease", "glue_jobs.swaps"}
INTERNAL_NAMES = {"lake_paths", "hold", "Paths", "Holder"}


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def test_no_caller_checks_which_storage_it_has() -> None:
    found = [
        f"{path.relative_to(REPO)}:{n}"
        for path in _sources("glue_jobs", "lakehouse", "tests", "bench", "ingestion")
        if path != REPO / "glue_jobs" / "storage.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if STORAGE_TYPE_CHECK.search(line)
    ]
    assert not found, f"ask the storage what it can do (glue_jobs/storage.py) instead: {found}"


def _imports_of(path: Path, package: str) -> list[tuple[str, str]]:
    """(module, name) of every import of a ``package`` module in ``path``, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            out += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names if alias.name.split(".")[0] == package]
    return out


def _glue_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import of a glue_jobs module in ``path``, at any depth."""
    return _imports_of(path, "glue_jobs")


def test_the_local_pipeline_imports_no_private_name_of_glue_jobs() -> None:
    for module in ("pipeline", "explain", "summaries"):
        imports = _glue_imports(REPO / "lakehouse" / f"{module}.py")
        private = [
            (mod, name)
            for mod, name in imports
            if mod in PROTOCOL_INTERNALS
            or name.startswith("_")
            or name in INTERNAL_NAMES
            or (mod == "glue_jobs" and f"glue_jobs.{name}" in PROTOCOL_INTERNALS)
        ]
        assert not private, f"lakehouse/{module}.py: go through glue_jobs.table.SilverTable, not {private}"
    assert ("glue_jobs.local", "silver_table") in _glue_imports(REPO / "lakehouse" / "pipeline.py")


def test_no_shipped_module_imports_the_tests() -> None:
    found = sorted(
        {
            f"{path.relative_to(REPO)}: {module}"
            for path in _sources("lakehouse", "glue_jobs", "ingestion", "bench", "scripts", "infra")
            for module, _ in _imports_of(path, "tests")
        }
    )
    assert not found, (
        f"a tool must run without tests/ on the path; move what it needs into lakehouse/: {found}"
    )


def test_the_athena_stand_in_starts_without_the_tests_folder(tmp_path: Path) -> None:
    # run from a folder that holds no tests/ and without PYTHONPATH: only the installed packages are importable,
    # as for `make athena-local` from a fresh venv
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse.athena_local", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "make athena-local" in result.stdout
