"""The CLI: a bad argument or config value is one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

from lakehouse.cli import main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ingest", "--rows", "abc"], "argument --rows: invalid int value: 'abc'"),
        (["ingest", "--start-date", "31/01/2026"], "'31/01/2026' is not a date; use YYYY-MM-DD"),
        (["ingest", "--rows", "0"], "ingest.rows is 0; it must be between 1"),
        (["run", "--defect-rate", "2"], "ingest.defect_rate is 2.0; it must be between 0 and 1"),
        (["ingest", "--rows-per-file", "5"], "ingest.rows_per_file is 5"),
        (["ingest", "--ingested-at", "yesterday"], "'yesterday' is not a date-time; use YYYY-MM-DD"),
        (["explode"], "invalid choice: 'explode'"),
        (["--env", "nowhere", "summary"], "no configuration for environment 'nowhere'"),
        (
            ["silver", "--full-refresh", "--from-date", "2026-03-01"],
            "not allowed with argument --full-refresh",
        ),
        (["silver", "--full-refresh", "--to-date", "2026-03-01"], "give one or the other"),
        (
            ["silver", "--from-date", "2026-03-05", "--to-date", "2026-03-01"],
            "the repair window would be empty",
        ),
        (["silver", "--to-date", "March"], "'March' is not a date; use YYYY-MM-DD"),
    ],
)
def test_bad_arguments_give_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        code = main(argv)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


def test_bad_environment_override_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAKEHOUSE_SPARK__SHUFFLE_PARTITIONS", "zero")
    assert main(["summary"]) == 2
    err = capsys.readouterr().err
    assert err == "lakehouse summary: error: spark.shuffle_partitions is 'zero'; it must be of type int\n"


def test_summary_of_an_empty_lake(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "summary", "--lake", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bronze" in out and "0 rows in 0 CSV files" in out


def test_silver_report_accounts_for_every_row() -> None:
    from glue_jobs.metrics import FileNote, RunMetrics
    from lakehouse.summaries import silver_report

    metrics = RunMetrics(
        "r1",
        files_read=3,
        partitions_touched=2,
        duration_s=4.25,
        rows_read=1010,
        rows_written=990,
        rows_rejected=15,
        rejected_by_reason={"bad_date": 5, "unknown_country": 10},
        duplicates_dropped=5,
        superseded=7,
        files_quarantined=[
            FileNote("b/x.csv", "missing_column", ("quantity",)),
            FileNote("b/y.csv", "not_utf8"),
        ],
        files_changed=["ingest_date=2026-03-01/z.csv"],
        files_not_read=[FileNote("b/notes.txt", "not a CSV: only .csv and .csv.gz files are read")],
        order_index_rebuilt="the bookmark lists no order index while silver holds orders",
    )
    assert silver_report(metrics).splitlines() == [
        "silver run r1: 3 new bronze files, 2 order_date partitions rewritten, 4.2 s",
        "         1,010 rows read",
        "           990 written to silver_orders",
        "            15 quarantined in silver_orders_rejected",
        "            10   unknown_country",
        "             5   bad_date",
        "             5 duplicates dropped (another row of the same order_id won)",
        "             7 silver rows replaced by a newer version",
        "  file quarantined whole: b/x.csv (missing quantity)",
        "  file quarantined whole: b/y.csv (not_utf8)",
        "  file changed since it was read, read again whole: ingest_date=2026-03-01/z.csv",
        "  file not read: b/notes.txt (not a CSV: only .csv and .csv.gz files are read)",
        "  order index rebuilt from silver: the bookmark lists no order index while silver holds orders",
    ]
