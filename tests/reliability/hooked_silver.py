"""`lakehouse silver` in its own process, stopped at a chosen point so a test can kill it with SIGKILL there.

    python tests/reliability/hooked_silver.py LAKE pause-after-write N MARKER  # after Spark write N: MARKER, wait

The pause leaves the run holding the lake's lease in the middle of writing its staging: the moment a second run
(or gold) must be refused rather than discard that staging as an interrupted run's; a ``kill -9`` then leaves a
staging folder without a journal."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    lake, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    from glue_jobs import runner

    if mode != "pause-after-write":
        raise SystemExit(f"unknown mode {mode}")
    marker = Path(sys.argv[4])
    write = runner._write_partitioned
    done = []

    def write_then_pause(*args: Any, **kwargs: Any) -> None:
        write(*args, **kwargs)
        done.append(args[1])
        if len(done) == n:
            marker.write_text(str(os.getpid()))
            while True:
                time.sleep(1)

    runner._write_partitioned = write_then_pause
    from lakehouse.cli import main as cli

    return cli(["-q", "silver", "--lake", lake])


if __name__ == "__main__":
    sys.exit(main())
