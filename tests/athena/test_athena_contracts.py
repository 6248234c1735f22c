"""Contracts between the stack and what runs against it, checked without AWS: the names dbt targets on Athena
are the stack's (whatever its ProjectName), and the Lambda only writes order dates the silver table's partition
projection shows."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ingestion.events import EventError, parse_event
from lakehouse.athena_local.standin import CREDENTIALS, patched_environ
from lakehouse.dbt import run_dbt
from lakehouse.infra import load_package_module
from tests.athena.helpers import dbt_args
from tests.infra.helpers import Resolver, load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.mark.dbt
def test_dbt_targets_the_stacks_databases_whatever_its_project_name(
    template: dict[str, Any], tmp_path: Path
) -> None:
    """With ProjectName=shop the stack creates and grants shop_dev_*; dbt, configured from
    the stack's outputs alone, must target exactly those databases."""
    resolver = Resolver(template, {"ProjectName": "shop"})
    outputs = {
        key: str(resolver.resolve(o["Value"]))
        for key, o in template["Outputs"].items()
        if "Condition" not in o
    }
    env = load_package_module().dbt_env(outputs)
    databases = {
        resolver.resolve(r["Properties"]["DatabaseInput"]["Name"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Glue::Database"
    }
    policy = json.dumps(resolver.resolve(template["Resources"]["DbtAthenaPolicy"]["Properties"]))
    assert "database/shop_dev_*" in policy and databases >= {"shop_dev_gold", "shop_dev_silver"}
    with patched_environ({**env, **CREDENTIALS, "AWS_EC2_METADATA_DISABLED": "true"}):
        run_dbt(["parse", *dbt_args(tmp_path)], tmp_path / "lake", target="athena")
    nodes = json.loads((tmp_path / "target" / "manifest.json").read_text())["nodes"].values()
    targeted = {n["schema"] for n in nodes if n["resource_type"] in ("model", "seed")}
    assert targeted and targeted <= databases, targeted - databases


def _projection_range(resolver: Resolver) -> tuple[dt.date, int]:
    table = resolver.template["Resources"]["SilverOrdersTable"]["Properties"]["TableInput"]
    low, high = resolver.resolve(table["Parameters"])["projection.order_date.range"].split(",")
    match = re.fullmatch(r"NOW\+(\d+)DAYS?", high.strip())
    assert match, high
    return dt.date.fromisoformat(low.strip()), int(match.group(1))


@pytest.mark.parametrize("first_ingest_date", [None, "2026-01-15"])
def test_the_lambda_event_accepts_exactly_the_dates_the_projection_shows(
    template: dict[str, Any], first_ingest_date: str | None
) -> None:
    """Rows outside projection.order_date.range are invisible on Athena (DuckDB reads them),
    and future-dated orders defeat the marts' lookback: the event contract refuses them. With
    the projection starting at the stack's FirstIngestDate, the Lambda's environment moves the contract with it."""
    resolver = Resolver(template, {"FirstIngestDate": first_ingest_date} if first_ingest_date else {})
    environ = resolver.resolve(
        template["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"]
    )
    earliest, days_ahead = _projection_range(resolver)
    today = dt.date(2026, 3, 10)
    latest = today + dt.timedelta(days=days_ahead)

    def plan(event: dict[str, Any]) -> Any:
        return parse_event({"seed": 1, **event}, environ=environ, today=today)

    assert plan({"date": earliest.isoformat()}).start_date == earliest
    assert plan({"date": latest.isoformat()}).start_date == latest
    assert plan({"start_date": (latest - dt.timedelta(days=6)).isoformat(), "days": 7}).days == 7
    for event, field in (
        ({"date": (earliest - dt.timedelta(days=1)).isoformat()}, "date"),
        ({"date": (latest + dt.timedelta(days=1)).isoformat()}, "date"),
        ({"start_date": (latest - dt.timedelta(days=5)).isoformat(), "days": 7}, "start_date"),
    ):
        with pytest.raises(EventError) as refused:
            plan(event)
        assert refused.value.field == field and "projection" in str(refused.value)
