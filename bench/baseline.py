"""Run one DuckDB baseline as its own process, so `bench.run` times it exactly like a pipeline stage.

python -m bench.baseline ingest --out orders.csv --rows 1000000
python -m bench.baseline silver --bronze lake/bronze/orders --out /tmp/silver
python -m bench.baseline gold --silver lake/silver --db /tmp/gold.duckdb
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.baseline", description=__doc__)
    sub = parser.add_subparsers(dest="stage", required=True)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("--out", type=Path, required=True)
    ingest.add_argument("--rows", type=int, required=True)
    ingest.add_argument("--seed", type=int, default=1)
    silver = sub.add_parser("silver")
    silver.add_argument("--bronze", type=Path, required=True)
    silver.add_argument("--out", type=Path, required=True)
    silver.add_argument("--reference", type=Path, default=REPO / "seeds")
    gold = sub.add_parser("gold")
    gold.add_argument("--silver", type=Path, required=True)
    gold.add_argument("--db", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.stage == "ingest":
        from bench.baselines.ingest_duckdb import generate_csv_duckdb

        generate_csv_duckdb(args.out, args.rows, args.seed)
    elif args.stage == "silver":
        from bench.baselines.silver_duckdb import run_silver_duckdb

        run_silver_duckdb(args.bronze, args.out, args.reference, count=False)
    else:
        from bench.baselines.gold_duckdb import run_gold_duckdb

        run_gold_duckdb(args.silver, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
