"""Planning a run's commit, without Spark: which staged partition replaces which live one, which live one goes."""

from __future__ import annotations

from glue_jobs.swaps import Layout, Partitions, plan_swaps, quarantine_merges, touched_order_dates

LAYOUT = Layout("/l/silver/silver_orders", "/l/silver/silver_orders_rejected", "/l/silver/_staging/r1")


def _short(plan: list[dict[str, str]]) -> list[tuple[str, ...]]:
    """Each swap as (kind, target relative to silver/[, staged relative to the staging folder])."""
    out = []
    for swap in plan:
        staged = [swap.staged.removeprefix(LAYOUT.staging + "/")] if swap.staged else []
        out.append((swap.kind, swap.target.removeprefix("/l/silver/"), *staged))
    return out


def test_silver_partitions_are_replaced_by_their_staged_version_or_deleted_when_empty() -> None:
    parts = Partitions(
        touched=["2026-03-01", "2026-03-02", "2026-03-05"],
        existing={"2026-03-01", "2026-03-02", "2026-03-03"},
        staged={
            "2026-03-01",
            "2026-03-05",
            # 03-02 lost its only order to a correction that moved it to 03-05
        },
    )
    assert _short(plan_swaps(LAYOUT, parts, full_refresh=False)) == [
        ("replace", "silver_orders/order_date=2026-03-01", "silver_orders/order_date=2026-03-01"),
        ("delete", "silver_orders/order_date=2026-03-02"),
        ("replace", "silver_orders/order_date=2026-03-05", "silver_orders/order_date=2026-03-05"),
    ]


def test_a_touched_date_with_nothing_staged_or_live_is_left_alone() -> None:
    assert plan_swaps(LAYOUT, Partitions(touched=["2026-03-09"]), full_refresh=False) == []


def test_quarantine_partitions_merged_new_and_dropped() -> None:
    parts = Partitions(
        touched=[],
        existing_ingest={"2026-03-05", "2026-03-06", "2026-03-07"},
        staged_ingest={"2026-03-06", "2026-03-08"},
        # live partitions that held rows of files read again
        merged_ingest=["2026-03-06", "2026-03-07"],
        # 03-07's only rows came from a file whose new version has no reject
        merged_staged={"2026-03-06"},
    )
    assert _short(plan_swaps(LAYOUT, parts, full_refresh=False)) == [
        (
            "replace",
            "silver_orders_rejected/ingest_date=2026-03-06",
            "_rejected_merged/ingest_date=2026-03-06",
        ),
        ("delete", "silver_orders_rejected/ingest_date=2026-03-07"),
        (
            "replace",
            "silver_orders_rejected/ingest_date=2026-03-08",
            "silver_orders_rejected/ingest_date=2026-03-08",
        ),
    ]


def test_a_full_refresh_replaces_what_it_staged_and_drops_the_rest() -> None:
    parts = Partitions(
        touched=["2026-03-01", "2026-03-02"],
        existing={"2026-03-01", "2026-03-02"},
        staged={"2026-03-01"},
        existing_ingest={"2026-03-05", "2026-03-06"},
        staged_ingest={"2026-03-06"},
    )
    plan = plan_swaps(LAYOUT, parts, full_refresh=True)
    assert [swap[:2] for swap in _short(plan)] == [
        ("replace", "silver_orders/order_date=2026-03-01"),
        ("delete", "silver_orders/order_date=2026-03-02"),
        ("replace", "silver_orders_rejected/ingest_date=2026-03-06"),
        ("delete", "silver_orders_rejected/ingest_date=2026-03-05"),
    ]
    assert touched_order_dates(plan, LAYOUT) == ["2026-03-01", "2026-03-02"]


def test_only_live_quarantine_partitions_the_run_reads_into_are_merged() -> None:
    live = {"2026-03-05", "2026-03-06"}
    assert quarantine_merges(live, ["2026-03-06", "2026-03-07"], full_refresh=False) == ["2026-03-06"]
    assert quarantine_merges(live, ["2026-03-06"], full_refresh=True) == [], (
        "a full refresh replaces them all"
    )
