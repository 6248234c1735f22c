"""Helpers of the analysts' tests: a small built lake with a quarantine, and headless Chromium."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from lakehouse.dbt import run_dbt
from lakehouse.report import NOTEBOOK
from tests.gold.helpers import REJECTED, base_orders, dbt_args, write_rejected, write_silver

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build_small_lake(lake: Path) -> Path:
    """Silver orders and a quarantine, then `dbt build`: what `make demo` leaves, in miniature."""
    write_silver(lake, base_orders())
    write_rejected(lake, REJECTED)
    run_dbt(["build", *dbt_args(lake.parent)], lake)
    return lake


def code_cells() -> list[str]:
    notebook = json.loads(NOTEBOOK.read_text())
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def notebook_queries() -> dict[str, str]:
    """Every SQL string the notebook passes to wh.query(), by the name it assigns the result to (else by the
    order of the calls: `query <n>`)."""
    calls: list[ast.Call] = []
    names: dict[int, str] = {}
    for source in code_cells():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "query":
                calls.append(node)
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                names[id(node.value)] = node.targets[0].id
    queries = {}
    for number, call in enumerate(calls):
        assert isinstance(call.args[0], ast.Constant), "a query is a literal string"
        queries[names.get(id(call), f"query {number}")] = call.args[0].value
    return queries


def chromium_or_skip() -> str:
    """Debian's chromium, or skip the test saying how to install it."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Debian's chromium is not installed: `apt-get install chromium` runs this browser check")
