"""bench/README.md's benchmark tables from the results of several sizes (one `make bench ROWS=...` each).

Per stage and size: median seconds, ratio to its baseline, time per order (us/row) and peak memory of the process
tree; the last column divides the time per row at the largest size by the one before it (1.00 = linear). Then the
bytes gold reads, incremental against full refresh, and what a day costs at production volume (bench/cost_model.py).

    python -m bench.report                      # the newest bench_<rows>_*.json of each size in bench/results
    python -m bench.report a.json b.json ...    # these results
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.cost_model import (
    limits_from_infra,
    measured_from_history,
    measured_from_results,
    render_table,
)
from bench.run import RESULTS, _mb


def _size(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else f"{rows:,}"


def newest_per_size(folder: Path) -> list[Path]:
    newest: dict[int, Path] = {}
    # names sort by time within a size
    for path in sorted(folder.glob("bench_*_*.json")):
        newest[int(path.name.split("_")[1])] = path
    return [newest[rows] for rows in sorted(newest)]


def render_sizes(reports: list[dict]) -> str:
    reports = sorted(reports, key=lambda r: r["rows"])
    sizes = [_size(r["rows"]) for r in reports]
    header = ["stage", "baseline"]
    for size in sizes:
        header += [f"{size}: s", f"{size}: ratio", f"{size}: us/row", f"{size}: peak MiB"]
    linear = len(reports) > 1
    if linear:
        header.append(f"us/row {sizes[-1]} / {sizes[-2]}")
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "--:|" * (len(header) - 2)]
    by_stage = [{r["stage"]: r for r in report["results"]} for report in reports]
    for stage in by_stage[-1]:
        rows = [stages.get(stage) for stages in by_stage]
        cells = [stage, by_stage[-1][stage]["baseline"]]
        for r in rows:
            cells += (
                [
                    f"{r['median_s']:.1f}",
                    f"{r['ratio']:.2f}x",
                    f"{r['us_per_row']:.2f}" if r.get("us_per_row") else "-",
                    f"{r['peak_mb']:,}",
                ]
                if r
                else ["-"] * 4
            )
        if linear:
            last, before = rows[-1], rows[-2]
            cells.append(
                f"{last['us_per_row'] / before['us_per_row']:.2f}"
                if last and before and last.get("us_per_row") and before.get("us_per_row")
                else "-"
            )
        lines.append("| " + " | ".join(cells) + " |")
    read = [(size, r["gold_bytes"]) for size, r in zip(sizes, reports, strict=True) if r.get("gold_bytes")]
    if read:
        lines += [
            "",
            "| rows | gold full refresh reads | of which data tests | gold incremental reads | of which data tests "
            "| incremental / full |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for size, b in read:
            full, inc = b["full"], b["incremental"]
            lines.append(
                f"| {size} | {_mb(full['total_bytes'])} | {_mb(full['by_kind'].get('test', 0))} | "
                f"{_mb(inc['total_bytes'])} | {_mb(inc['by_kind'].get('test', 0))} | "
                f"{inc['total_bytes'] / full['total_bytes']:.2f}x |"
            )
    return "\n".join(lines)


def newest_history(folder: Path) -> Path | None:
    """The newest history bench result with gold's figures (bench/history_growth.py), if any."""
    # names sort by time
    for path in sorted(folder.glob("history_growth_*.json"), reverse=True):
        if all("gold" in h for h in json.loads(path.read_text())["histories"]):
            return path
    return None


def render_cost(reports: list[dict], history: dict | None = None) -> str:
    """The production cost projection (bench/cost_model.py), or one line saying why none: from the history
    bench's result when there is one (``history``; the same day on a short and a long history), else from the
    sizes of `make bench` (``reports``)."""
    try:
        volume, limits = limits_from_infra()
        if history is not None:
            # silver's seconds from `make bench`'s quiet runs: the history bench's are timed on a loaded machine
            measured = measured_from_history(history, measured_from_results(reports).silver_seconds)
        else:
            measured = measured_from_results(reports)
        return render_table(measured, volume, limits)
    except (KeyError, ValueError, OSError) as why:
        return f"No cost projection: {why}"


def newest_history_report(folder: Path = RESULTS) -> dict | None:
    path = newest_history(folder)
    return json.loads(path.read_text()) if path else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.report", description=__doc__)
    parser.add_argument("results", nargs="*", type=Path, help="bench_<rows>_<time>.json files")
    args = parser.parse_args(argv)
    paths = args.results or newest_per_size(RESULTS)
    if not paths:
        parser.exit(1, f"bench.report: no bench_*.json in {RESULTS}: run `make bench ROWS=...` first\n")
    reports = [json.loads(p.read_text()) for p in paths]
    print(render_sizes(reports))
    print("\n" + render_cost(reports, newest_history_report()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
