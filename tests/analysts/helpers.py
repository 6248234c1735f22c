"""Helpers of the analysts' tests: a small built lake with a quarantine, and headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakehouse.dbt import run_dbt
from tests.gold.helpers import REJECTED, base_orders, dbt_args, write_rejected, write_silver

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build_small_lake(lake: Path) -> Path:
    """Silver orders and a quarantine, then `dbt build`: what `make demo` leaves, in miniature."""
    write_silver(lake, base_orders())
    write_rejected(lake, REJECTED)
    run_dbt(["build", *dbt_args(lake.parent)], lake)
    return lake


def chromium_or_skip() -> str:
    """Debian's chromium, or skip the test saying how to install it."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Debian's chromium is not installed: `apt-get install chromium` runs this browser check")
