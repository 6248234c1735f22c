"""notebooks/exploration.ipynb and `make report`: committed clean, SQL valid on Athena, runs top to bottom on a
small lake, and the rendered report opens in headless Chromium with its charts and nothing from the internet."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlfluff

from lakehouse.dbt import REPO
from lakehouse.report import NOTEBOOK, make_report
from lakehouse.warehouse import WarehouseError, open_warehouse
from tests.analysts.helpers import CHROMIUM_FLAGS, chromium_or_skip, notebook_queries

pytestmark = pytest.mark.dbt

CHARTS = 5


def test_notebook_is_committed_without_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text())
    dirty = [
        index
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"cells {dirty} carry outputs: clear them before committing (the report renders its own)"
    )
    assert "widgets" not in notebook["metadata"]
    parameters = [cell for cell in notebook["cells"] if "parameters" in cell["metadata"].get("tags", [])]
    assert len(parameters) == 1 and "engine = " in "".join(parameters[0]["source"])


def test_notebook_sql_parses_in_the_athena_dialect() -> None:
    """The same SQL runs on Athena: each query, with Athena's relation names, is valid Athena SQL."""
    queries = notebook_queries().values()
    assert len(queries) >= 6
    for query in queries:
        names = {
            name: f'"awsdatacatalog"."lakehouse_dev_gold"."{name}"' for name in re.findall(r"{(\w+)}", query)
        }
        # raises on SQL Athena cannot parse
        sqlfluff.parse(query.format_map(names), dialect="athena")


@pytest.fixture(scope="module")
def report(small_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report(small_lake, tmp_path_factory.mktemp("report"))


def test_report_embeds_every_chart_and_references_nothing_online(report: Path) -> None:
    html = report.read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) == CHARTS
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", html)
    assert {p.name for p in (report.parent / "charts").glob("*.png")} >= {
        "revenue_and_orders_per_month_and_country.png"
    }


def test_report_tables_show_thousands_separators_and_the_currency(report: Path) -> None:
    """No bare 198182 beside 15,087,336.65: every number of four digits or more is grouped, money says USD."""
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", report.read_text(), re.S)
    ]
    assert cells
    assert [c for c in cells if re.fullmatch(r"-?\d{4,}(\.\d+)?", c)] == []
    assert any(re.fullmatch(r"USD \d{1,3}(,\d{3})*\.\d{2}", c) for c in cells)


def test_report_opens_in_chromium_without_errors_and_shows_the_charts(report: Path, tmp_path: Path) -> None:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
                ),
            )
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(report.as_uri(), wait_until="load")
            shown = page.eval_on_selector_all(
                "img", "images => images.filter(i => i.complete && i.naturalWidth > 300).length"
            )
            title = page.title()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert not problems
    assert shown == CHARTS
    assert title == "Sales KPIs and data quality"


def test_report_without_a_warehouse_is_one_line_naming_make_demo(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "lakehouse.report", "--lake", str(tmp_path / "lake")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "make demo" in run.stderr


def test_athena_engine_names_the_missing_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DBT_ATHENA_REGION", "DBT_ATHENA_S3_STAGING_DIR", "DBT_ATHENA_S3_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(WarehouseError, match=r"DBT_ATHENA_S3_STAGING_DIR.*dbt-athena\.env"):
        open_warehouse("athena", tmp_path)
    with pytest.raises(WarehouseError, match="use one of local, athena"):
        open_warehouse("snowflake", tmp_path)


def test_a_damaged_warehouse_is_not_said_to_be_in_use(tmp_path: Path) -> None:
    """A damaged warehouse file is reported as damaged, with the fix, not as "is a dbt run writing to it?"."""
    (tmp_path / "warehouse.duckdb").write_bytes(b"")
    with pytest.raises(WarehouseError) as info:
        open_warehouse("local", tmp_path)
    assert str(info.value) == (
        f"the warehouse {tmp_path / 'warehouse.duckdb'} is damaged (IO Error: The file exists, but it is not a valid "
        "DuckDB database file!): delete it (and warehouse.duckdb.wal if there is one), then run `lakehouse gold`, "
        "which rebuilds it from silver"
    )


def test_local_engine_reads_gold_with_the_relation_names_of_the_warehouse(small_lake: Path) -> None:
    wh = open_warehouse("local", small_lake)
    assert wh.relations["gold_orders"] == '"gold"."gold_orders"'
    rejected = wh.query("select sum(rejected_rows) as n from {fct_orders_rejected_daily}")
    assert rejected["n"].iloc[0] == 4
    assert os.fspath(small_lake) not in wh.sql("select * from {silver_orders_rejected}")
