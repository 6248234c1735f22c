"""`lakehouse silver` in its own process, stopped at a chosen point so a test can kill it with SIGKILL there.

    python tests/reliability/hooked_silver.py LAKE pause-at-swap N MARKER   # write MARKER before swap N, then wait
    python tests/reliability/hooked_silver.py LAKE die-after-write N         # SIGKILL itself after Spark write N

The pause leaves the run holding the lake's lease with its journal written and N swaps applied: the moment a
second run or gold must be refused, and a ``kill -9`` leaves silver half-swapped."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    lake, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    from glue_jobs import commit, runner

    if mode == "pause-at-swap":
        marker = Path(sys.argv[4])

        def pause(index: int, swap: dict[str, str]) -> None:
            if index == n:
                marker.write_text(str(os.getpid()))
                while True:
                    time.sleep(1)

        commit.before_swap = pause
    elif mode == "die-after-write":
        write = runner._write_partitioned
        done = []

        def write_then_die(*args: Any, **kwargs: Any) -> None:
            write(*args, **kwargs)
            done.append(args[1])
            if len(done) == n:
                os.kill(os.getpid(), signal.SIGKILL)

        runner._write_partitioned = write_then_die
    else:
        raise SystemExit(f"unknown mode {mode}")
    from lakehouse.cli import main as cli

    return cli(["-q", "silver", "--lake", lake])


if __name__ == "__main__":
    sys.exit(main())
