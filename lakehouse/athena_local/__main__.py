"""`make athena-local`: a dbt command on the athena target, against the local Athena stand-in.

    python -m lakehouse.athena_local                          # dbt build, on the silver of ./lake (the pipeline's gold stage)
    python -m lakehouse.athena_local build -s +gold_orders    # any dbt command and selection
    python -m lakehouse.athena_local --repeat 2 build         # twice: the second run takes the incremental (MERGE) path

The stand-in starts empty each time (moto's server in this process, the stack from infra/lakehouse.yaml), gets
the lake's silver Parquet, and runs the command through dbt-athena; every statement Athena would receive is
written to the log (default <lake>/_athena/statements.sql) with its kind and outcome. It checks an edit against
dbt-athena's code path and Athena's syntax and rules before a push; it does not prove Trino's semantics
(the statements run on DuckDB).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path

from lakehouse.athena_local.standin import AthenaStandIn
from lakehouse.dbt import DbtError, run_dbt
from lakehouse.stage import dbt_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make athena-local", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=Path(os.environ.get("LAKEHOUSE_LAKE", "lake")))
    parser.add_argument("--log", type=Path, help="statement log (default <lake>/_athena/statements.sql)")
    parser.add_argument("--repeat", type=int, default=1, help="run the dbt command this many times")
    parser.add_argument(
        "dbt", nargs=argparse.REMAINDER, help="the dbt command (default: the gold stage's, build)"
    )
    args = parser.parse_args(argv)
    lake = args.lake.resolve()
    if not (lake / "silver" / "silver_orders").is_dir():
        print(
            f"athena-local: error: no silver in {lake}: run `make demo` (or `lakehouse run`) first",
            file=sys.stderr,
        )
        return 2
    log = (args.log or lake / "_athena" / "statements.sql").resolve()
    # by default the very command the pipeline's gold stage runs in AWS (lakehouse/stage.py)
    command = args.dbt or dbt_command("gold")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::")
    with AthenaStandIn(statement_log=log) as athena:
        files = athena.upload_silver(lake)
        print(f"athena-local: stand-in up, {files} silver Parquet files in s3://{athena.bucket}/silver/")
        try:
            for _ in range(args.repeat):
                with athena.environment():
                    run_dbt(command, lake, target="athena")
        except DbtError as failure:
            print(f"athena-local: error: {failure}; statements in {log}", file=sys.stderr)
            return 1
        finally:
            kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(athena.counts().items()))
            failed = sum(1 for s in athena.statements if s.status != "ok")
            print(f"athena-local: {len(athena.statements)} statements ({kinds}; {failed} failed), log: {log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
