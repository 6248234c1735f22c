"""Fixtures shared by every test folder, and how `make test` splits the tests between its two workers."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
# The JVMs a test starts in a subprocess (`lakehouse silver`, `lakehouse run`, the bench's stages) live seconds on a
# few hundred rows, where the C2 compiler's work never pays back: with C1 alone a `lakehouse silver` run took about
# a third less CPU (docs/decisions/0007-test-workers.md, third pass). Same results: only the JIT tier differs.
# Spark's launcher adds SPARK_SUBMIT_OPTS to the driver JVM's command line silently (JAVA_TOOL_OPTIONS would make
# every JVM print a line on stderr, which the one-line-error tests read). Set at import, before any JVM starts;
# the shared session's JVM (the `spark` fixture), which runs for the whole session, is started without it.
JVM_FOR_TESTS = "-XX:TieredStopAtLevel=1"
SHARED_JVM_OPTS = os.environ.get("SPARK_SUBMIT_OPTS", "").replace(JVM_FOR_TESTS, "").strip()
os.environ["SPARK_SUBMIT_OPTS"] = f"{SHARED_JVM_OPTS} {JVM_FOR_TESTS}".strip()
# Folders whose conftest.py builds a lake once per session for several modules (tests/gold's built_lake,
# tests/analysts' small_lake, tests/infra's moto server and template): one worker runs the whole folder.
SESSION_FOLDERS = ("analysts", "gold", "infra", "athena/adapter")
# The Spark modules in two groups, each on the Spark session of the worker that runs it (two JVMs at most, about
# 2 GiB each): tests/reliability's (and the end-to-end runs) in one, every other one in "spark". One group held
# them all until the silver sweep's and the seeded history's tests made it the worker that ended last.
SPARK_GROUPS = (("spark-reliability", "reliability"), ("spark-reliability", "e2e"))


def _module(item: pytest.Item) -> str:
    return Path(item.path).resolve().relative_to(TESTS).as_posix()


def xdist_group(item: pytest.Item, spark_modules: set[str]) -> str:
    """The group of tests one worker runs (`pytest -n 2 --dist loadgroup`, tests/README.md): every module with a
    Spark test shares the worker's one Spark session; a folder that shares a session-scoped lake stays together;
    any other module is a group of its own, so its module-scoped fixtures are built once."""
    module = _module(item)
    if module in spark_modules:
        return next((group for group, folder in SPARK_GROUPS if module.startswith(f"{folder}/")), "spark")
    return next((folder for folder in SESSION_FOLDERS if module.startswith(f"{folder}/")), module)


# The longest groups, longest first (their measured times: docs/decisions/0007-test-workers.md): each worker
# starts on one of the two longest and takes the next from this list when it runs dry, so no long group starts
# last while the other worker idles. Together they are nine tenths of the suite's time.
LONGEST = (
    "gold",
    "spark",
    "spark-reliability",
    "benchmarks/test_bench_harness.py",
    "infra",
    "athena/adapter",
    "athena/test_athena_build.py",
    "athena/test_athena_stages.py",
    "athena/test_athena_far_moves.py",
    "e2e/test_run_memory.py",
)


def _rank(item: pytest.Item, group: str) -> int:
    """Long groups first, so the quick modules fill in at the end instead of a long one starting last: the
    `LONGEST` in their order, then any other group that runs Spark, the pipeline or dbt, then the rest."""
    if group in LONGEST:
        return LONGEST.index(group)
    if any(item.get_closest_marker(name) for name in ("spark", "e2e")):
        return len(LONGEST)
    return len(LONGEST) + (1 if item.get_closest_marker("dbt") else 2)


# Where the workers write each test's group for the scheduler (a file named by the controller before it starts them).
# Not LAKEHOUSE_*: lakehouse's configuration reads every variable of that prefix, and refuses unknown keys.
GROUPS_FILE = "PYTEST_XDIST_GROUPS_FILE"


def pytest_configure(config: pytest.Config) -> None:
    distributed = config.getoption("dist", "no") == "loadgroup" and config.getoption("tx", None)
    if distributed and not hasattr(config, "workerinput"):
        handle, path = tempfile.mkstemp(prefix="lakehouse-test-groups-", suffix=".json")
        os.close(handle)
        os.environ[GROUPS_FILE] = path
        config.add_cleanup(lambda: Path(path).unlink(missing_ok=True))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's own loadgroup reads a test's group from a suffix it appends to the node id, which pytest 9 no longer
    lets it change (the tests then spread over both workers as with --dist load): this scheduler reads the groups
    the workers computed from the file they wrote, and is otherwise xdist's loadgroup."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                self.groups = json.loads(Path(os.environ[GROUPS_FILE]).read_text() or "{}")
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return GroupScheduling(config, log)


def _write_groups(config: pytest.Config, groups: dict[str, str]) -> None:
    """A worker writes {node id: group} for the controller's scheduler; both workers write the same, atomically."""
    path = os.environ.get(GROUPS_FILE)
    if path and hasattr(config, "workerinput"):
        part = Path(f"{path}.{config.workerinput['workerid']}")
        part.write_text(json.dumps(groups))
        part.replace(path)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the shared Spark session, directly or through another fixture, is marked `spark`: `make
    test-fast` leaves such tests out without each module having to remember the marker. Each test is also given
    its `xdist_group` (before xdist reads the marks: tryfirst; the scheduler above reads them from a file), and the
    long groups are moved first."""
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
    spark_modules = {_module(item) for item in items if item.get_closest_marker("spark")}
    groups = {}
    for item in items:
        groups[item] = xdist_group(item, spark_modules)
        item.add_marker(pytest.mark.xdist_group(groups[item]))
    # A stable sort on whole groups: a group's tests stay together and in their order, so module-scoped fixtures
    # are still built once in a run without xdist.
    rank: dict[str, int] = {}
    for item in items:
        rank[groups[item]] = min(rank.get(groups[item], len(LONGEST) + 2), _rank(item, groups[item]))
    first_seen = {group: n for n, group in reversed(list(enumerate(groups[item] for item in items)))}
    items.sort(key=lambda item: (rank[groups[item]], first_seen[groups[item]]))
    _write_groups(config, {item.nodeid: groups[item] for item in items})


@pytest.fixture(scope="session", autouse=True)
def dbt_output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """dbt writes target/ (partial_parse.msgpack, manifest.json) and logs/ in the project by default, and so does
    every `lakehouse gold` a test runs: each pytest process (each xdist worker) gets folders of its own, so two
    workers never write the same files. A dbt call with its own --target-path/--log-path still uses those."""
    work = tmp_path_factory.mktemp("dbt")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(work / "target"))
        patch.setenv("DBT_LOG_PATH", str(work / "logs"))
        yield work


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session for the whole test run: starting a JVM costs seconds, so it is shared.

    Built by the job's own ``glue_jobs.session`` (the settings live there, once); the Glue job calls
    ``SparkSession.builder.getOrCreate()``, which returns this same session."""
    from glue_jobs.session import local_session

    # C2 pays back in a JVM that runs for the whole session: this one starts without JVM_FOR_TESTS (above).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPARK_SUBMIT_OPTS", SHARED_JVM_OPTS)
        session = local_session(
            "local[2]", shuffle_partitions=2, driver_memory="2g", app_name="lakehouse-tests"
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> Iterator[object]:
    """The job's S3Storage on moto's in-process S3, with the bucket named by the test module's ``BUCKET``."""
    import boto3
    from moto import mock_aws

    from glue_jobs.storage import S3Storage

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=request.module.BUCKET)
        yield S3Storage(client)
