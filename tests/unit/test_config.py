"""Configuration: file + environment overrides, validated at start with one-line errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lakehouse.config import ConfigError, load_config


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
