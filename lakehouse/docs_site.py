"""The dbt docs site a data team publishes: dbt's own site, with test labels that read cleanly, and the KPI report.

dbt-docs labels a project generic test on a column with its arguments, ``test_metadata.kwargs``, and dbt puts
its standard ``model`` argument there as a Jinja string: a reader would see
``lakehouse.accepted_range({"min_value": 1, "model": "{{ get_where_subquery(ref('fct_orders')) }}"})``. The
published site drops that argument from the labels (``lakehouse.accepted_range({"min_value": 1})``); dbt's own
``target/manifest.json`` stays as dbt wrote it, since slim CI compares state with it.

The site opens on the lineage of models, sources, seeds and exposures: dbt-docs' default graph selection would
also draw every unit test and data test as a node (17 unit tests with long names outnumber the 11 models). They
stay one tick away in the graph's resource filter, and in the sidebar.

    python -m lakehouse.docs_site --target target --site target/site [--report lake/reports/kpi_report.html]
        [--serve --port 8080]
"""

from __future__ import annotations

import argparse
import copy
import errno
import functools
import json
import logging
import shutil
import signal
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MANIFEST, CATALOG, INDEX, STATIC_INDEX = "manifest.json", "catalog.json", "index.html", "static_index.html"
STANDARD_TEST_ARGUMENTS = ("model",)
# dbt-docs' default graph selection (its selectorService), and the one the published site starts with.
DBT_DOCS_DEFAULT_TYPES = (
    '["model","seed","snapshot","source","test","unit_test","analysis","exposure","metric","semantic_model",'
    '"saved_query","function"]'
)
LINEAGE_TYPES = (
    '["model","seed","snapshot","source","exposure","metric","semantic_model","saved_query","function"]'
)
# Without a route in the address, the site opens on the overview with its lineage graph shown.
OPEN_ON_LINEAGE = '<head><script>if(!location.hash){location.hash="#!/overview?g_v=1";}</script>'
DEFAULT_PORT = 8080

log = logging.getLogger(__name__)


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


def lineage_first(index_html: str) -> str:
    """dbt-docs' page, opening on the lineage graph, whose default selection leaves tests out."""
    selection = f"resource_types:{DBT_DOCS_DEFAULT_TYPES},depth:1}}"
    if index_html.count(selection) != 1 or index_html.count("<head>") != 1:
        raise DocsSiteError(
            "this dbt-docs page has no default graph selection where expected: check dbt-core"
        )
    return index_html.replace(selection, f"resource_types:{LINEAGE_TYPES},depth:1}}").replace(
        "<head>", OPEN_ON_LINEAGE
    )


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
    index_html = lineage_first(dbt_docs_index().read_text())
    site.mkdir(parents=True, exist_ok=True)
    (site / MANIFEST).write_text(manifest_json)
    (site / CATALOG).write_text(catalog_json)
    (site / INDEX).write_text(index_html)
    (site / STATIC_INDEX).write_text(static_index(index_html, manifest_json, catalog_json))
    if report is not None and report.is_file():
        shutil.copyfile(report, site / report.name)
    return site


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves the site without a line per request."""

    def log_message(self, format: str, *args: object) -> None:
        log.debug(format, *args)


def serve(site: Path, port: int) -> int:
    """Serve ``site`` on localhost until Ctrl-C. A busy port is one line on stderr and exit code 1; Ctrl-C is 0."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    try:
        server = ThreadingHTTPServer(("localhost", port), handler)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"docs: port {port} is in use (another make docs?): stop it, or choose another port: "
            f"make docs PORT={port + 1}",
            file=sys.stderr,
        )
        return 1
    # Python leaves SIGINT ignored when it started so (a script's background job): Ctrl-C and `kill -INT` would not
    # stop the server
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"docs: serving http://localhost:{port}/ (the lineage first); Ctrl-C stops it", flush=True)
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("docs: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.docs_site", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--target", type=Path, default=Path("target"), help="dbt's target folder")
    parser.add_argument("--site", type=Path, default=Path("target/site"), help="where to write the site")
    parser.add_argument("--report", type=Path, help="the KPI report to publish beside the docs, if it exists")
    parser.add_argument("--serve", action="store_true", help="then serve the site on localhost until Ctrl-C")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"the port to serve on ({DEFAULT_PORT})"
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port is {args.port}; it must be between 1 and 65535, e.g. make docs PORT=8081")
    try:
        site = publish(args.target, args.site, args.report)
    except (DocsSiteError, OSError) as exc:
        print(f"docs: {exc}", file=sys.stderr)
        return 1
    print(f"docs: published {site}/ ({INDEX} to serve, {STATIC_INDEX} to open as a file)")
    return serve(site, args.port) if args.serve else 0


if __name__ == "__main__":
    sys.exit(main())
