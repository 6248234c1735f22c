"""Configuration: file + environment overrides, validated at start with one-line errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from lakehouse.config import ConfigError, check_ingest_dates, load_config


def test_local_config_loads_with_documented_defaults() -> None:
    config = load_config("local", environ={})
    assert config.lake == Path("lake")
    assert config.ingest.rows == 200_000
    assert config.ingest.start_date == dt.date(2026, 1, 1)
    assert config.spark.master == "local[2]"


def test_spark_memory_is_bounded_by_the_local_config() -> None:
    """docs/operations.md "Bounded memory": a 2 GiB heap, 16 shuffle partitions, spill inside the lake unless overridden."""
    spark = load_config("local", environ={}).spark
    assert (spark.driver_memory, spark.shuffle_partitions, spark.local_dir) == ("2g", 16, "")
    moved = load_config("local", environ={"LAKEHOUSE_SPARK__LOCAL_DIR": "/data/spill"}).spark
    assert moved.local_dir == "/data/spill"


def test_silver_spills_inside_the_lake_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session `lakehouse silver` builds gets the configured memory, partitions and spill folder."""
    import glue_jobs.bronze_to_silver_orders as job
    import glue_jobs.local as local

    built: dict[str, object] = {}
    monkeypatch.setattr(local, "local_session", lambda *args, **kw: built.update(args=args, **kw))
    monkeypatch.setattr(job, "main", lambda argv: None)
    local.run_silver(tmp_path / "lake", shuffle_partitions=16, driver_memory="2g")
    assert built["args"] == ("local[2]", 16, "2g")
    assert built["local_dir"] == tmp_path / "lake" / "_tmp" / "spark"


def test_environment_overrides_nested_keys() -> None:
    config = load_config(
        "local", environ={"LAKEHOUSE_INGEST__ROWS": "1_000", "LAKEHOUSE_LAKE": "/tmp/x", "OTHER": "1"}
    )
    assert config.ingest.rows == 1000
    assert config.lake == Path("/tmp/x")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LAKEHOUSE_INGEST__ROWS": "many"}, "ingest.rows is 'many'; it must be of type int"),
        ({"LAKEHOUSE_INGEST__ROWS": "0"}, "ingest.rows is 0; it must be between 1"),
        ({"LAKEHOUSE_INGEST__DEFECT_RATE": "1.5"}, "ingest.defect_rate is 1.5; it must be between 0 and 1"),
        ({"LAKEHOUSE_INGEST__START_DATE": "2026-13-01"}, "ingest.start_date is '2026-13-01'"),
        ({"LAKEHOUSE_INGEST__ROWZ": "5"}, "unknown key ingest.rowz"),
        ({"LAKEHOUSE_SPARK": "x"}, "spark must be a mapping"),
        (
            {"LAKEHOUSE_SPARK__SHUFFLE_PARTITIONS": "0"},
            "spark.shuffle_partitions is 0; it must be between 1 and",
        ),
        ({"LAKEHOUSE_SPARK__SHUFFLE_PARTITIONS": "100000"}, "spark.shuffle_partitions is 100000; it must be"),
        ({"LAKEHOUSE_SPARK__LOCAL_DIR": "/a,/b"}, "spark.local_dir is '/a,/b'; it must be one folder"),
        ({"LAKEHOUSE_SPARK__LOCAL_DIR": __file__}, f"spark.local_dir is '{__file__}'; it must be one folder"),
    ],
)
def test_bad_values_name_the_key(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config("local", environ=environ)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text("lake: lake\n")
    with pytest.raises(ConfigError, match=r"no configuration for environment 'qa'.*known: local"):
        load_config("qa", environ={}, config_dir=tmp_path)


def test_broken_yaml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text("lake: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML") as info:
        load_config("local", environ={}, config_dir=tmp_path)
    assert "\n" not in str(info.value)


def _config_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    (tmp_path / "local.yaml").write_bytes(text.encode(encoding))
    return tmp_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ingest:\n  start_date: 2025-02-30\n", "ingest.start_date is '2025-02-30'; it must be a date that exists"),
        ("order_dates:\n  earliest: 2025-13-01\n", "order_dates.earliest is '2025-13-01'; it must be a date"),
        ("lake:\n", "lake is empty; it must be a folder path"),
        ("spark:\n  master:\n", "spark.master is empty; it must be a value"),
        ("order_dates:\n  max_days_after_landing: 40\n", "order_dates.max_days_after_landing is 40; it must be"),
        ("order_dates:\n  earliest: 1899-12-31\n", "order_dates.earliest is 1899-12-31; it must be a date between"),
    ],
    ids=["impossible-date", "impossible-earliest", "empty-lake", "empty-value", "skew", "earliest"],
)  # fmt: skip
def test_bad_config_file_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    """An impossible date in the file names its key (PyYAML's own date parsing would raise a bare ValueError), and
    an empty key is refused (it would become the folder 'None')."""
    with pytest.raises(ConfigError) as info:
        load_config("local", environ={}, config_dir=_config_file(tmp_path, text))
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_a_config_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    config_dir = _config_file(tmp_path, "lake: lake\n", encoding="utf-16")
    with pytest.raises(ConfigError) as info:
        load_config("local", environ={}, config_dir=config_dir)
    assert (
        str(info.value)
        == f"{config_dir / 'local.yaml'} is not UTF-8 text (byte 0xff at offset 0): save it as UTF-8"
    )


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_lake_variable_is_refused_not_the_current_folder(value: str) -> None:
    """LAKEHOUSE_LAKE='' is refused: Path('') is the current folder, which would silently become the lake."""
    with pytest.raises(ConfigError) as info:
        load_config("local", environ={"LAKEHOUSE_LAKE": value})
    assert str(info.value) == (
        "lake is empty; it must be a folder path: set it, or unset LAKEHOUSE_LAKE and remove the key from the "
        "config file to get the default"
    )


def test_dates_in_the_config_file_are_still_dates() -> None:
    config = load_config("local", environ={})
    assert (config.order_dates.earliest, config.order_dates.max_days_after_landing) == (
        dt.date(2020, 1, 1),
        1,
    )


NOW = dt.datetime(2026, 4, 2, 13, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("start", "days", "ingested_at", "expected"),
    [
        (dt.date(2026, 4, 3), 1, None, None),
        (dt.date(2026, 3, 30), 5, None, None),
        (dt.date(2020, 1, 1), 1, None, None),
        (dt.date(2026, 3, 1), 1, dt.datetime(2026, 3, 2, 2, tzinfo=dt.UTC), None),
        (dt.date(9999, 12, 31), 1, None, "ingest.start_date is 9999-12-31; it must be between 2020-01-01 (order_dates.earliest) and 2026-04-03, so that 1 days of orders end by 2026-04-03"),
        (dt.date(2026, 3, 31), 5, None, "ingest.start_date is 2026-03-31; it must be between 2020-01-01 (order_dates.earliest) and 2026-03-30"),
        (dt.date(2019, 12, 31), 1, None, "ingest.start_date is 2019-12-31; it must be between 2020-01-01"),
        (dt.date(2026, 3, 1), 1, dt.datetime(2026, 2, 27, tzinfo=dt.UTC), "ingest.start_date is 2026-03-01; it must be between 2020-01-01 (order_dates.earliest) and 2026-02-28"),
        (dt.date(2026, 3, 1), 1, dt.datetime(2099, 1, 1, tzinfo=dt.UTC), "--ingested-at is 2099-01-01T00:00:00+00:00; it must be the time its files landed: at most 1 day after now (2026-04-03T13:00:00Z): pass a time in the past"),
        (dt.date(2020, 1, 1), 1, dt.datetime(2019, 12, 31, tzinfo=dt.UTC), "--ingested-at is 2019-12-31T00:00:00+00:00; it must be the time its files landed: on or after the earliest order date 2020-01-01: pass a later time"),
    ],
)  # fmt: skip
def test_an_ingest_outside_the_valid_order_dates_is_refused(
    start: dt.date, days: int, ingested_at: dt.datetime | None, expected: str | None
) -> None:
    """`lakehouse ingest --start-date 9999-12-31 --days 1` and `--ingested-at 2099` are refused; the bounds are
    configuration (order_dates), the clock a parameter."""
    config = load_config("local", environ={})
    ingest = dataclasses.replace(config.ingest, start_date=start, days=days)
    if expected is None:
        check_ingest_dates(ingest, config.order_dates, ingested_at, NOW)
        return
    with pytest.raises(ConfigError) as info:
        check_ingest_dates(ingest, config.order_dates, ingested_at, NOW)
    assert str(info.value).startswith(expected)


def test_ingestion_and_silver_declare_the_same_date_bounds() -> None:
    """The Lambda ships without glue_jobs, so ingestion/dates.py keeps its own copy of the bounds: the copies agree,
    and lakehouse silver hands the configured ones to the job (in hours)."""
    from glue_jobs import bounds
    from glue_jobs.local import glue_argv
    from ingestion import dates

    assert dates.EARLIEST_ORDER_DATE == bounds.EARLIEST_ORDER_DATE
    assert dates.MAX_DAYS_AFTER_LANDING * 24 == bounds.MAX_SKEW_HOURS
    argv = glue_argv(Path("lake"), bounds=bounds.DateBounds(dt.date(2024, 1, 1), 48))
    assert argv[-4:] == ["--earliest_order_date", "2024-01-01", "--max_skew_hours", "48"]
