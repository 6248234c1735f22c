"""The dbt docs site a data team publishes: dbt's own site, with test labels that read cleanly, and the KPI report.

dbt-docs labels a project generic test on a column with its arguments, ``test_metadata.kwargs``, and dbt puts
its standard ``model`` argument there as a Jinja string: a reader would see
``lakehouse.accepted_range({"min_value": 1, "model": "{{ get_where_subquery(ref('fct_orders')) }}"})``. The
published site drops that argument from the labels (``lakehouse.accepted_range({"min_value": 1})``); dbt's own
``target/manifest.json`` stays as dbt wrote it, since slim CI compares state with it.

    python -m lakehouse.docs_site --target target --site target/site [--report lake/reports/kpi_report.html]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
from pathlib import Path
from typing import Any

MANIFEST, CATALOG, INDEX, STATIC_INDEX = "manifest.json", "catalog.json", "index.html", "static_index.html"
STANDARD_TEST_ARGUMENTS = ("model",)


class DocsSiteError(RuntimeError):
    """The docs could not be published; the message says what to run first."""


def readable_tests(manifest: dict[str, Any]) -> dict[str, Any]:
    """A copy of the manifest whose tests carry only their own arguments (what dbt-docs prints as the label)."""
    tidy = copy.deepcopy(manifest)
    for node in tidy.get("nodes", {}).values():
        kwargs = (node.get("test_metadata") or {}).get("kwargs")
        if isinstance(kwargs, dict):
            for name in STANDARD_TEST_ARGUMENTS:
                kwargs.pop(name, None)
    return tidy


def dbt_docs_index() -> Path:
    """dbt-docs' single-page application, as shipped with dbt-core."""
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    return Path(DOCS_INDEX_FILE_PATH)


def static_index(index_html: str, manifest_json: str, catalog_json: str) -> str:
    """The page with both artifacts inlined, as `dbt docs generate --static` writes it (opens from a file)."""
    return index_html.replace('"MANIFEST.JSON INLINE DATA"', manifest_json).replace(
        '"CATALOG.JSON INLINE DATA"', catalog_json
    )


def publish(target: Path, site: Path, report: Path | None = None) -> Path:
    """Write the site to ``site``: index.html (served) and static_index.html (one file), the two artifacts, and
    the KPI report when there is one. Returns ``site``."""
    missing = [name for name in (MANIFEST, CATALOG) if not (target / name).is_file()]
    if missing:
        raise DocsSiteError(f"{target} has no {' or '.join(missing)}: run `dbt docs generate` first")
    manifest_json = json.dumps(readable_tests(json.loads((target / MANIFEST).read_text())))
    catalog_json = (target / CATALOG).read_text()
    index_html = dbt_docs_index().read_text()
    site.mkdir(parents=True, exist_ok=True)
    (site / MANIFEST).write_text(manifest_json)
    (site / CATALOG).write_text(catalog_json)
    (site / INDEX).write_text(index_html)
    (site / STATIC_INDEX).write_text(static_index(index_html, manifest_json, catalog_json))
    if report is not None and report.is_file():
        shutil.copyfile(report, site / report.name)
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.docs_site", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--target", type=Path, default=Path("target"), help="dbt's target folder")
    parser.add_argument("--site", type=Path, default=Path("target/site"), help="where to write the site")
    parser.add_argument("--report", type=Path, help="the KPI report to publish beside the docs, if it exists")
    args = parser.parse_args(argv)
    try:
        site = publish(args.target, args.site, args.report)
    except (DocsSiteError, OSError) as exc:
        print(f"docs: {exc}", file=sys.stderr)
        return 1
    print(f"docs: published {site}/ ({INDEX} to serve, {STATIC_INDEX} to open as a file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
