"""`make report`: run notebooks/exploration.ipynb on a lake and render it to one self-contained HTML file.

    python -m lakehouse.report --lake lake     # -> lake/reports/kpi_report.html

papermill executes the notebook with its parameters (engine, lake, charts_dir) and keeps the executed copy
(`kpi_report.ipynb`, where a failing cell shows its traceback); nbconvert renders it without the code cells, with
every chart embedded as a PNG and nothing fetched from the internet. Each chart is also saved under `charts/`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from lakehouse.dbt import REPO

NOTEBOOK = REPO / "notebooks" / "exploration.ipynb"
TEMPLATES = REPO / "notebooks" / "templates"
TITLE = "Sales KPIs and data quality"

log = logging.getLogger(__name__)


class ReportError(RuntimeError):
    """The report could not be made; the message is one line naming the cause and the fix."""


@dataclass(frozen=True)
class ReportPaths:
    folder: Path

    @property
    def html(self) -> Path:
        return self.folder / "kpi_report.html"

    @property
    def executed(self) -> Path:
        return self.folder / "kpi_report.ipynb"

    @property
    def charts(self) -> Path:
        return self.folder / "charts"


def execute(notebook: Path, executed: Path, parameters: dict[str, str]) -> None:
    """Run the notebook top to bottom in a fresh kernel (working directory: the repository)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(REPO),
            progress_bar=False,
            log_output=False,
            # The kernel is local to this process; its warning about TCP without encryption is noise here.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    except PapermillExecutionError as error:
        reason = f"{error.ename}: {error.evalue}".strip().splitlines()[0]
        raise ReportError(
            f"the notebook failed in cell {error.exec_count}: {reason} (the executed notebook is {executed})"
        ) from None


def render_html(executed: Path, html: Path) -> None:
    """The executed notebook as one HTML page: markdown and outputs, no code, no external script."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(
        nbformat.read(executed, as_version=4), resources={"metadata": {"name": TITLE}}
    )
    html.write_text(body, encoding="utf-8")


def make_report(lake: Path, folder: Path | None = None, engine: str = "local") -> Path:
    """Execute and render the notebook for `lake`; return the HTML file."""
    lake = lake.resolve()
    if engine == "local" and not (lake / "warehouse.duckdb").is_file():
        raise ReportError(f"no warehouse at {lake / 'warehouse.duckdb'}: run `make demo` first")
    paths = ReportPaths((folder or lake / "reports").resolve())
    try:
        paths.folder.mkdir(parents=True, exist_ok=True)
        execute(
            NOTEBOOK,
            paths.executed,
            {"engine": engine, "lake": str(lake), "charts_dir": str(paths.charts)},
        )
        render_html(paths.executed, paths.html)
    except OSError as error:
        raise ReportError(
            f"cannot write the report under {paths.folder}: {error.strerror or error}"
        ) from None
    return paths.html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make report", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path("lake"), help="the lake folder (default ./lake)")
    parser.add_argument("--out", type=Path, help="report folder (default <lake>/reports)")
    parser.add_argument("--engine", choices=("local", "athena"), default="local")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        html = make_report(args.lake, args.out, args.engine)
    except ReportError as error:
        print(f"make report: {error}", file=sys.stderr)
        return 1
    print(f"KPI report: {html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
