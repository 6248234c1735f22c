"""The seams hold: callers reach silver's commit protocol only through ``glue_jobs.table.SilverTable``, and
storage only through what ``glue_jobs.storage.Storage`` offers, never by checking which storage it is."""

from __future__ import annotations

import ast
import re
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


def _glue_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import of a glue_jobs module in ``path``, at any depth."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("glue_jobs"):
            out += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names if alias.name.startswith("glue_jobs")]
    return out


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
