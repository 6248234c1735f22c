"""Run dbt on this repository's project, in-process, against a given lake.

    run_dbt(["build"], lake=Path("lake"))                      # local DuckDB target
    run_dbt(["compile", "--no-introspect"], lake, target="athena")

The project is the repository root and the profiles are `profiles/`; `LAKEHOUSE_LAKE` is set to the absolute lake
path, so the warehouse is `<lake>/warehouse.duckdb` and the silver source reads `<lake>/silver/`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

# dbt takes seconds to import: only a run imports it (not the CLI's other commands, nor test collection)
if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

REPO = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO / "profiles"
TARGETS = ("local", "athena")


class DbtError(RuntimeError):
    """dbt failed; the message is one line saying what failed."""


@contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# dbt's headline for a failed node ("Runtime Error in model x (path)"): the cause is on the lines after it.
_HEADLINE = re.compile(r"^(Runtime|Database|Compilation|Parsing|Dependency) Error( in .*)?$")


def cause(message: str) -> str:
    """The line of a dbt error message that says what went wrong, not dbt's generic headline."""
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    meaningful = [line for line in lines if not _HEADLINE.match(line)]
    return (meaningful or lines or [""])[0]


FAILED = ("error", "fail", "runtime error")


class _FailedNodes(list[str]):
    """A dbtRunner callback that keeps each failed node with its cause, as the nodes finish: when a later step
    raises (an on-run-end hook tripping over a model that failed), dbt's result no longer holds them."""

    def __call__(self, event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        result = event.data.run_result
        status = str(result.status).lower()
        if status in FAILED:
            message = cause(result.message)
            self.append(f"{event.data.node_info.node_name} ({status}{': ' + message if message else ''})")


def _failure(args: Sequence[str], result: dbtRunnerResult, failed: list[str]) -> str:
    """One line: the nodes that failed (the cause), else the exception dbt raised."""
    command = "dbt " + " ".join(args[:1])
    if failed:
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        return f"{command} failed: {len(failed)} node(s): {'; '.join(failed[:3])}{more} (see logs/dbt.log)"
    if result.exception is not None:
        return f"{command} failed: {cause(str(result.exception)) or type(result.exception).__name__}"
    return f"{command} failed (see logs/dbt.log)"


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB database open in a class attribute after a run (`keep_open`), so a later
    `duckdb.connect(warehouse, read_only=True)` in this process would fail ("different configuration"), and the
    next run on another lake would reuse it. Close it: every run_dbt starts and ends with the file closed."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()


def run_dbt(args: list[str], lake: Path, target: str = "local", project: Path = REPO) -> dbtRunnerResult:
    """Run `dbt <args>` on the project for `lake`; raise DbtError (one line) if dbt reports a failure.
    `project`: another copy of the project (with its own profiles/), e.g. one a test adds models to."""
    if target not in TARGETS:
        raise DbtError(f"unknown dbt target {target!r}; use one of {', '.join(TARGETS)}")
    lake = Path(lake).resolve()
    if target == "local":
        lake.mkdir(parents=True, exist_ok=True)
    full = [
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(PROFILES_DIR if project == REPO else project / "profiles"),
        "--target",
        target,
    ]
    with _env(LAKEHOUSE_LAKE=str(lake)):
        # A fresh runner per call: no manifest is reused between invocations, so an edited model is seen.
        failed = _FailedNodes()
        from dbt.cli.main import dbtRunner

        try:
            result = dbtRunner(callbacks=[failed]).invoke(full)
        finally:
            _release_duckdb()
    if not result.success:
        raise DbtError(_failure(args, result, failed))
    return result
