"""Orders a correction moved further than the correction horizon, once silver's sweep removed their old rows: gold
still holds those rows, the reconciliation with silver fails naming them (macros/late_silver.sql), and a build
with var absorb_moved_orders absorbs them (the rows deleted, the keys they held recomputed). `lakehouse gold`
(lakehouse/gold_build.py) and the gold stage (lakehouse/stage.py) run that build when they see the failure."""

from __future__ import annotations

import json
from typing import Any

import yaml

RECONCILIATION = "assert_gold_reconciles_with_silver"
# the reconciliation's words for rows gold holds and silver no longer does
MOVED_AWAY = "that silver no longer holds"
ABSORB = "absorb_moved_orders"
# dbt's unit tests ran in the build that failed; some pin the project's vars
NO_UNIT_TESTS = ("--exclude", "test_type:unit")


def with_vars(args: list[str], extra: dict[str, Any]) -> list[str]:
    """`args` with `extra` merged into its --vars (the last --vars wins in dbt, so one carries them all)."""
    if "--vars" not in args:
        return [*args, "--vars", json.dumps(extra)]
    at = len(args) - 1 - args[::-1].index("--vars")
    merged = {**(yaml.safe_load(args[at + 1]) or {}), **extra}
    return [*args[:at], *args[at + 2 :], "--vars", json.dumps(merged)]


def moved_away(error: Exception, args: list[str]) -> bool:
    """The reconciliation failed on moved-away rows, and `args` did not already ask to absorb them."""
    text = str(error)
    return RECONCILIATION in text and MOVED_AWAY in text and ABSORB not in " ".join(args)


def retry(args: list[str], extra: dict[str, Any]) -> list[str]:
    """A second build of `args` with `extra` vars, without the unit tests (they ran in the build that failed)."""
    again = with_vars(args, extra)
    return again if "test_type:unit" in again else [*again, *NO_UNIT_TESTS]


def absorbing(args: list[str]) -> list[str]:
    """The build that absorbs them: `args` with the var, without the unit tests."""
    return retry(args, {ABSORB: True})


def moved_line(error: Exception) -> str:
    """What the reconciliation said of the moved orders: from "gold holds" to the fix, excluded."""
    text = str(error)
    return text[text.index("gold holds") :].split("; ")[0] if "gold holds" in text else text
