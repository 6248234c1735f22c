"""The dbt docs a data team would publish: owners, exposures, lineage of the quarantine, primary keys, unit
tests, readable test names, no machine path, dbt-score >= 9.0, and dbt/sqlfluff usable before `make demo`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lakehouse.dbt import REPO, run_dbt
from lakehouse.docs_site import publish, readable_tests
from lakehouse.duckdb_lake import warehouse_folder
from tests.analysts.helpers import CHROMIUM_FLAGS, chromium_or_skip
from tests.gold.helpers import dbt_args

pytestmark = pytest.mark.dbt

# Views that only type a seed's columns: no logic a unit test could pin down (their data tests cover them).
SEED_TYPING_VIEWS = {"stg_countries", "stg_products"}


@pytest.fixture(scope="module")
def docs(small_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("docs")
    run_dbt(["docs", "generate", "--static", *dbt_args(work)], small_lake)
    return work / "target"


@pytest.fixture(scope="module")
def site(docs: Path) -> Path:
    """The site `make docs` publishes: dbt's docs with readable test labels (lakehouse/docs_site.py)."""
    return publish(docs, docs.parent / "site")


@pytest.fixture(scope="module")
def manifest(docs: Path) -> dict[str, Any]:
    return json.loads((docs / "manifest.json").read_text())


def models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def data_tests_of(manifest: dict[str, Any], model_id: str) -> list[dict[str, Any]]:
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and n.get("test_metadata") and n["attached_node"] == model_id
    ]


def test_every_model_has_an_owner_through_its_group(manifest: dict[str, Any]) -> None:
    groups = {g["name"]: g["owner"] for g in manifest["groups"].values()}
    for name, node in models(manifest).items():
        owner = groups.get(node["group"])
        assert owner and owner["name"] and owner["email"], f"{name}: no group with an owner"
        assert node["config"]["meta"]["owner"] == owner["email"], (
            f"{name}: meta.owner is not its group's owner"
        )
        layer = node["fqn"][1]
        assert node["access"] == ("public" if layer == "marts" else "private"), name


def test_exposures_have_a_url_and_an_owner(manifest: dict[str, Any]) -> None:
    exposures = manifest["exposures"].values()
    assert {e["name"] for e in exposures} >= {"sales_dashboard", "kpi_report"}
    for exposure in exposures:
        assert exposure["url"] and exposure["owner"]["email"], exposure["name"]


def test_the_quarantine_is_in_the_lineage(manifest: dict[str, Any]) -> None:
    children = manifest["child_map"]["source.lakehouse.silver.silver_orders_rejected"]
    assert "model.lakehouse.fct_orders_rejected_daily" in children
    assert (
        "exposure.lakehouse.kpi_report" in manifest["child_map"]["model.lakehouse.fct_orders_rejected_daily"]
    )


def test_every_model_has_a_primary_key_test_standard_tooling_recognises(manifest: dict[str, Any]) -> None:
    """dbt-project-evaluator's rule: unique + not_null on one column, or a unique_combination_of_columns test
    (the var primary_key_test_macros of dbt_project.yml names the project's own); dbt-core infers the key too."""
    for name, node in models(manifest).items():
        tests = data_tests_of(manifest, node["unique_id"])
        by_column: dict[str, set[str]] = {}
        for test in tests:
            by_column.setdefault(test["column_name"] or "", set()).add(test["test_metadata"]["name"])
        single = any({"unique", "not_null"} <= kinds for column, kinds in by_column.items() if column)
        composite = [t for t in tests if t["test_metadata"]["name"] == "unique_combination_of_columns"]
        if composite:
            columns = composite[0]["test_metadata"]["kwargs"]["combination_of_columns"]
            assert all("not_null" in by_column.get(c, set()) for c in columns), (
                f"{name}: a key column may be null"
            )
        assert single or composite, f"{name}: no primary-key test"
    evaluator = manifest["metadata"]["project_name"]
    assert evaluator == "lakehouse"


def test_models_with_logic_have_unit_tests(manifest: dict[str, Any]) -> None:
    tested = {u["depends_on"]["nodes"][0].split(".")[-1] for u in manifest["unit_tests"].values()}
    missing = set(models(manifest)) - SEED_TYPING_VIEWS - tested
    assert not missing, f"models without a unit test: {sorted(missing)}"


def test_project_generic_tests_have_readable_names(manifest: dict[str, Any]) -> None:
    """A project test without a `name` gets one made of its raw arguments (lakehouse_accepted_range_x__False__0)."""
    generated = [
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and (n.get("test_metadata") or {}).get("namespace") == "lakehouse"
        if n["name"].startswith("lakehouse_")
    ]
    assert not generated
    documented = {
        m["name"]
        for m in manifest["macros"].values()
        if m["package_name"] == "lakehouse" and m["description"]
    }
    assert {
        "test_accepted_range",
        "test_expression_is_true",
        "test_unique_combination_of_columns",
    } <= documented


def machine_paths(lake: Path) -> list[str]:
    return [os.fspath(REPO), os.fspath(lake.resolve()), os.fspath(lake.resolve().parent)]


def test_no_machine_specific_path_in_compiled_sql_or_the_docs(docs: Path, small_lake: Path) -> None:
    paths = machine_paths(small_lake)
    compiled = [p for p in (docs / "compiled").rglob("*.sql") if any(x in p.read_text() for x in paths)]
    assert not compiled, f"compiled SQL names a path on this machine: {compiled}"
    manifest = json.loads((docs / "manifest.json").read_text())
    # root_path (the project folder) is dbt's own bookkeeping on seeds; the docs site never shows it
    shown = json.dumps(
        {
            "nodes": [{k: v for k, v in n.items() if k != "root_path"} for n in manifest["nodes"].values()],
            "sources": list(manifest["sources"].values()),
            "exposures": list(manifest["exposures"].values()),
        }
    )
    assert not [x for x in paths if x in shown]


def open_docs_pages(site: Path, unique_ids: list[str], expand: dict[str, list[str]]) -> dict[str, str]:
    """The text a reader sees on each docs page in headless Chromium, with the named columns expanded."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    texts = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            for unique_id in unique_ids:
                page.goto(f"{(site / 'static_index.html').as_uri()}#!/{unique_id.split('.')[0]}/{unique_id}")
                page.wait_for_selector("text=Details")
                for column in expand.get(unique_id, []):
                    page.get_by_text(column, exact=True).first.click()
                texts[unique_id] = page.inner_text("body")
        finally:
            browser.close()
    return texts


def test_docs_pages_show_the_owner_and_no_path_in_chromium(site: Path, small_lake: Path) -> None:
    pages = {
        "model.lakehouse.gold_orders": "Analytics engineering <analytics@example.com>",
        "source.lakehouse.silver.silver_orders": "silver_orders",
        "model.lakehouse.fct_orders_rejected_daily": "Data platform <data-platform@example.com>",
    }
    texts = open_docs_pages(site, list(pages), {})
    for unique_id, expected in pages.items():
        assert expected in texts[unique_id], unique_id
        assert not [x for x in machine_paths(small_lake) if x in texts[unique_id]], unique_id


# The nodes dbt-docs' lineage graph draws: its graph service's elements, as (resource type, unique id).
DRAWN_NODES = """() => angular.element(document.body).injector().get('graph').graph.elements
    .filter(e => e.group === 'nodes').map(e => [e.data.resource_type, e.data.unique_id])"""


def test_the_site_opens_on_a_lineage_of_models_sources_seeds_and_exposures(
    site: Path, manifest: dict[str, Any], tmp_path: Path
) -> None:
    """Opened with no address beyond the file, the site shows the lineage graph first, and it draws every model,
    source, seed and exposure and no test: dbt's own site draws 17 unit tests beside the 11 models."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((site / "static_index.html").as_uri(), wait_until="load")
            page.wait_for_function(f"() => ({DRAWN_NODES})().length > 0")
            drawn = page.evaluate(DRAWN_NODES)
            shown = page.is_visible("text=Lineage Graph")
            page.screenshot(path=str(tmp_path / "lineage.png"))
        finally:
            browser.close()
    assert shown, "the site does not open on the lineage graph"
    readers = {
        unique_id
        for unique_id, node in [
            *manifest["nodes"].items(),
            *manifest["sources"].items(),
            *manifest["exposures"].items(),
        ]
        if node["resource_type"] in ("model", "source", "seed", "exposure")
    }
    assert {unique_id for _, unique_id in drawn} == readers
    assert {kind for kind, _ in drawn} == {"model", "source", "seed", "exposure"}


def project_column_tests(manifest: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """(column, test name) of every project generic test on a column, per model or seed it tests."""
    found: dict[str, list[tuple[str, str]]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if meta.get("namespace") == "lakehouse" and node.get("column_name"):
            found.setdefault(node["attached_node"], []).append((node["column_name"], meta["name"]))
    return found


def test_published_docs_label_project_tests_with_their_own_arguments(
    site: Path, manifest: dict[str, Any]
) -> None:
    """A column's project tests read `lakehouse.accepted_range({"min_value":1})` in the docs, not dbt's raw
    `{"model":"{{ get_where_subquery(ref('fct_orders')) }}"}` (what `dbt docs generate` alone shows)."""
    tested = project_column_tests(manifest)
    assert len(tested) >= 3
    expand = {unique_id: sorted({column for column, _ in tests}) for unique_id, tests in tested.items()}
    texts = open_docs_pages(site, sorted(tested), expand)
    for unique_id, tests in tested.items():
        assert "get_where_subquery" not in texts[unique_id], unique_id
        for _, test in tests:
            assert f"lakehouse.{test}({{" in texts[unique_id], (unique_id, test)


def test_readable_tests_drops_only_dbts_standard_model_argument(manifest: dict[str, Any]) -> None:
    tidy = readable_tests(manifest)
    for unique_id, node in manifest["nodes"].items():
        kwargs = (node.get("test_metadata") or {}).get("kwargs")
        if kwargs is not None:
            assert tidy["nodes"][unique_id]["test_metadata"]["kwargs"] == {
                k: v for k, v in kwargs.items() if k != "model"
            }
            # dbt's own manifest is left as dbt wrote it
            assert "model" in kwargs
        else:
            assert tidy["nodes"][unique_id] == node


def test_dbt_score_rates_every_model_at_least_9(docs: Path) -> None:
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt-score"),
            "lint",
            "--manifest",
            str(docs / "manifest.json"),
            "--format",
            "json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout.strip(), run.stderr[-2000:]
    scores = {name: item["score"] for name, item in json.loads(run.stdout)["evaluables"].items()}
    low = {name: score for name, score in scores.items() if score < 9.0}
    assert not low and len(scores) > 10, low
    # pyproject: fail_any_item_under = 9.0
    assert run.returncode == 0, run.stderr[-2000:]


def test_dbt_starts_before_make_demo_instead_of_a_duckdb_traceback(tmp_path: Path) -> None:
    """A newcomer's `dbt compile` (what sqlfluff does too) with no lake folder yet: it starts and creates it."""
    lake = tmp_path / "fresh-clone" / "lake"
    env = {**os.environ, "LAKEHOUSE_LAKE": os.fspath(lake), "DBT_PROFILES_DIR": os.fspath(REPO / "profiles")}
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--select",
            "stg_countries",
            *dbt_args(tmp_path),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert (lake / "warehouse.duckdb").is_file()


def test_warehouse_folder_is_only_for_a_database_file() -> None:
    assert warehouse_folder("lake/warehouse.duckdb") == Path("lake")
    assert warehouse_folder(":memory:") is None
    assert warehouse_folder("md:analytics") is None
