"""The bytes a filtered query scans on the stand-in: only the row groups, data files and partitions whose
statistics or values its simple predicates cannot rule out, as Athena's reader skips them; everything when the
predicates are beyond what statistics can judge; and the workgroup's cutoff still cancels a query that really
scans too much."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from lakehouse.athena_local.catalog import PARQUET_SERDE
from lakehouse.athena_local.prune import Bound, bounds_for, excluded
from lakehouse.athena_local.scan import CUTOFF_EXCEEDED
from lakehouse.athena_local.standin import AthenaStandIn
from tests.athena.helpers import cursor

pytestmark = [pytest.mark.dbt, pytest.mark.filterwarnings("ignore:Tried to parse AWS::")]

GOLD = "lakehouse_dev_gold"
ROWS, GROUP_ROWS = 10_000, 1_000


@dataclass(frozen=True)
class Group:
    """One row group of a file the test wrote: its rows' range of `n` and each column's compressed bytes."""

    first: int
    last: int
    sizes: dict[str, int]


def run(standin: AthenaStandIn, sql: str) -> tuple[int, list[tuple[object, ...]]]:
    """Run a query through dbt-athena's cursor: the bytes GetQueryExecution reports it scanned, and its rows."""
    with standin.environment():
        athena = cursor(standin)
        athena.execute(sql)
        return int(athena.data_scanned_in_bytes), list(athena.fetchall())


def payload(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def write(
    standin: AthenaStandIn, key: str, first: int, last: int, group_rows: int = GROUP_ROWS
) -> list[Group]:
    """A Parquet object of the rows first..last (`n` ascending, a random-looking `payload`) in row groups of
    `group_rows`, put at `key` of the stack's bucket; its row groups as the file's own metadata reports them."""
    numbers = list(range(first, last + 1))
    table = pa.table({"n": pa.array(numbers, pa.int64()), "payload": [payload(n) for n in numbers]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=group_rows)
    standin.client("s3").put_object(Bucket=standin.bucket, Key=key, Body=buffer.getvalue())
    metadata = pq.ParquetFile(io.BytesIO(buffer.getvalue())).metadata
    groups = []
    for index in range(metadata.num_row_groups):
        row_group = metadata.row_group(index)
        sizes = {
            row_group.column(c).path_in_schema: row_group.column(c).total_compressed_size for c in (0, 1)
        }
        start = first + index * group_rows
        groups.append(Group(start, min(start + group_rows, last + 1) - 1, sizes))
    return groups


def hive_table(standin: AthenaStandIn, name: str, partition_type: str = "") -> str:
    """A Hive Parquet table of the gold database as Glue holds it (partitioned by `day` when a type is given)."""
    location = f"s3://{standin.bucket}/gold/pruning/{name}/"
    glue = standin.client("glue")
    if standin.engine.glue_table(GOLD, name) is not None:
        glue.delete_table(DatabaseName=GOLD, Name=name)
    table_input = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "classification": "parquet"},
        "StorageDescriptor": {
            "Columns": [{"Name": "n", "Type": "bigint"}, {"Name": "payload", "Type": "string"}],
            "Location": location,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
        "PartitionKeys": [{"Name": "day", "Type": partition_type}] if partition_type else [],
    }
    glue.create_table(DatabaseName=GOLD, TableInput=table_input)
    return location.removeprefix(f"s3://{standin.bucket}/")


def scanned(
    groups: list[Group], columns: tuple[str, ...], keep: Callable[[Group], bool] = lambda g: True
) -> int:
    """The bytes of `columns` over the row groups `keep` accepts."""
    return sum(g.sizes[c] for g in groups if keep(g) for c in columns)


@pytest.fixture(scope="module")
def sorted_table(standin: AthenaStandIn) -> list[Group]:
    """`sorted_n`: one file of 10,000 rows, n ascending, in ten row groups of 1,000."""
    prefix = hive_table(standin, "sorted_n")
    return write(standin, f"{prefix}part-0.parquet", 0, ROWS - 1)


def test_the_fixture_holds_ten_row_groups(sorted_table: list[Group]) -> None:
    assert [(g.first, g.last) for g in sorted_table] == [(i * 1000, i * 1000 + 999) for i in range(10)]


@pytest.mark.parametrize(
    ("where", "columns", "first", "last"),
    [
        ("n between 2500 and 3499", ("n",), 2500, 3499),
        ("n >= 9000", ("n", "payload"), 9000, ROWS - 1),
        ("9000 <= n", ("n", "payload"), 9000, ROWS - 1),
        ("n < 1000 and payload > ''", ("n", "payload"), 0, 999),
        ("n > 998 and n <= 1000", ("n",), 999, 1000),
        ("n = 4321", ("n",), 4321, 4321),
        ("(n > -5) and (n < 1)", ("n",), 0, 0),
    ],
)
def test_a_filter_on_a_sorted_column_scans_only_the_row_groups_that_can_match(
    standin: AthenaStandIn,
    sorted_table: list[Group],
    where: str,
    columns: tuple[str, ...],
    first: int,
    last: int,
) -> None:
    select = "sum(n)" if columns == ("n",) else "sum(n), max(payload)"
    bytes_scanned, rows = run(standin, f"select {select} from {GOLD}.sorted_n where {where}")
    expected = scanned(sorted_table, columns, lambda g: g.last >= first and g.first <= last)
    assert bytes_scanned == expected
    assert expected < scanned(sorted_table, columns)
    # the rows are every row's, as without pruning
    assert rows[0][0] == sum(range(first, last + 1))


def test_an_in_list_scans_the_row_groups_of_its_values(
    standin: AthenaStandIn, sorted_table: list[Group]
) -> None:
    bytes_scanned, rows = run(
        standin, f"select count(*), sum(n) from {GOLD}.sorted_n where n in (5, 9999, 20000)"
    )
    assert rows == [(2, 10004)]
    assert bytes_scanned == sorted_table[0].sizes["n"] + sorted_table[9].sizes["n"]


@pytest.mark.parametrize(
    "where",
    [
        # statistics cannot judge these: an expression of the column, an `or`, a negation, a subquery
        "n % 1000 = 5",
        "n = 5 or n = 9999",
        "not (n < 9000)",
        "cast(n as varchar) = '5'",
        "n in (select n from {t} where n = 5)",
        # a random-looking column: every row group's min and max span the value
        "payload = '{p}'",
        # no predicate at all
        "true",
    ],
)
def test_a_filter_statistics_cannot_judge_scans_every_row_group(
    standin: AthenaStandIn, sorted_table: list[Group], where: str
) -> None:
    query = f"select sum(n), max(payload) from {GOLD}.sorted_n as t where {where}"
    bytes_scanned, _ = run(standin, query.format(t=f"{GOLD}.sorted_n", p=payload(5)))
    full = scanned(sorted_table, ("n", "payload"))
    # the subquery reads the table a second time, with its own bound (and the statement's columns)
    extra = scanned(sorted_table[:1], ("n", "payload")) if "select" in where else 0
    assert bytes_scanned == full + extra


def test_the_null_supplying_side_of_an_outer_join_is_read_whole(
    standin: AthenaStandIn, sorted_table: list[Group]
) -> None:
    full, first_group = scanned(sorted_table, ("n",)), sorted_table[0].sizes["n"]
    inner, _ = run(
        standin, f"select count(*) from {GOLD}.sorted_n a join {GOLD}.sorted_n b on a.n = b.n where b.n < 10"
    )
    assert inner == full + first_group
    left, _ = run(
        standin,
        f"select count(*) from {GOLD}.sorted_n a left join {GOLD}.sorted_n b on a.n = b.n where b.n < 10",
    )
    assert left == 2 * full
    # an unqualified column with two tables in scope: whose it is is left to the engine
    assert run(standin, f"select count(*) from {GOLD}.sorted_n a, (select 1 as k) b where n < 10")[0] == full


def test_a_view_prunes_by_its_own_filter(standin: AthenaStandIn, sorted_table: list[Group]) -> None:
    run(standin, f"create or replace view {GOLD}.late_n as select n from {GOLD}.sorted_n where n >= 8000")
    bytes_scanned, rows = run(standin, f"select count(*) from {GOLD}.late_n")
    assert rows == [(2000,)]
    assert bytes_scanned == sorted_table[8].sizes["n"] + sorted_table[9].sizes["n"]


def test_a_partition_filter_reads_only_its_partitions(standin: AthenaStandIn) -> None:
    prefix = hive_table(standin, "by_day", partition_type="date")
    days = {
        f"2026-01-0{d}": write(standin, f"{prefix}day=2026-01-0{d}/part.parquet", d * 100, d * 100 + 99)
        for d in range(1, 5)
    }
    one = days["2026-01-02"][0].sizes["n"]
    assert run(standin, f"select sum(n) from {GOLD}.by_day where day = date '2026-01-02'") == (
        one,
        [(sum(range(200, 300)),)],
    )
    later = sum(days[d][0].sizes["n"] for d in ("2026-01-03", "2026-01-04"))
    assert (
        run(standin, f"select count(*) from {GOLD}.by_day where day >= date '2026-01-03' and n >= 0")[0]
        == later
    )
    # a partition's value that no day holds: nothing read
    assert (
        run(standin, f"select count(*) from {GOLD}.by_day where day = date '2026-02-01' and n >= 0")[0] == 0
    )
    everything = sum(groups[0].sizes["n"] for groups in days.values())
    assert (
        run(
            standin,
            f"select count(*) from {GOLD}.by_day where cast(day as varchar) = '2026-01-02' and n >= 0",
        )[0]
        == everything
    )


def test_an_iceberg_data_file_outside_the_filter_is_not_read(standin: AthenaStandIn) -> None:
    location = f"s3://{standin.bucket}/gold/pruning/ice_n/"
    run(standin, f"drop table if exists {GOLD}.ice_n")
    run(
        standin,
        f"create table {GOLD}.ice_n with (table_type='iceberg', location='{location}')"
        " as select n from unnest(sequence(1, 5000)) as t(n)",
    )
    run(standin, f"insert into {GOLD}.ice_n select n from unnest(sequence(5001, 10000)) as t(n)")
    s3 = standin.client("s3")
    files = {}
    for obj in s3.list_objects_v2(Bucket=standin.bucket, Prefix="gold/pruning/ice_n/")["Contents"]:
        if obj["Key"].endswith(".parquet"):
            data = s3.get_object(Bucket=standin.bucket, Key=obj["Key"])["Body"].read()
            file = pq.ParquetFile(io.BytesIO(data))
            files[min(file.read().column("n").to_pylist())] = (
                file.metadata.row_group(0).column(0).total_compressed_size
            )
    assert sorted(files) == [1, 5001]
    assert run(standin, f"select max(n) from {GOLD}.ice_n where n > 5000") == (files[5001], [(10000,)])
    assert run(standin, f"select max(n) from {GOLD}.ice_n where n > 0")[0] == files[1] + files[5001]


def test_the_cutoff_cancels_a_filtered_query_that_still_scans_too_much(
    standin: AthenaStandIn, cutoff: int
) -> None:
    from dbt.adapters.athena.exceptions import AthenaQueryCancelledError

    prefix = hive_table(standin, "wide_n")
    groups = write(standin, f"{prefix}part-0.parquet", 0, 299_999, group_rows=30_000)
    assert scanned(groups, ("payload",)) > cutoff
    # the filter keeps every row group: all of it is scanned, and the query is cancelled
    with pytest.raises(AthenaQueryCancelledError) as cancelled:
        run(standin, f"select max(payload) from {GOLD}.wide_n where n >= 0")
    assert CUTOFF_EXCEEDED in str(cancelled.value)
    assert standin.statements[-1].scanned_bytes > cutoff
    # a filter that keeps one row group stays under the cutoff
    bytes_scanned, _ = run(standin, f"select max(payload) from {GOLD}.wide_n where n < 30000")
    assert bytes_scanned == groups[0].sizes["n"] + groups[0].sizes["payload"] <= cutoff


def bounds(where: str, types: dict[str, str]) -> tuple[Bound, ...]:
    query = sqlglot.parse_one(f"select * from t where {where}", read="athena")
    return bounds_for(next(query.find_all(exp.Table)), types)


@pytest.mark.parametrize(
    ("where", "low", "high", "skipped"),
    [
        ("n = 10", 11, 20, True),
        ("n = 10", 0, 9, True),
        ("n = 10", 10, 10, False),
        ("n < 10", 10, 20, True),
        ("n < 10", 9, 20, False),
        ("n <= 10", 10, 20, False),
        ("n > 10", 0, 10, True),
        ("n >= 10", 0, 10, False),
        ("n between 3 and 4", 5, 9, True),
        ("n between 3 and 5", 5, 9, False),
        ("n in (1, 30)", 2, 29, True),
        ("n in (1, 29)", 2, 29, False),
        ("n > 2.5", 0, 2, True),
        ("n > 2.5", 0, 3, False),
        # statistics of another type (a file written with n as text or floating point) are not judged
        ("n = 10", "11", "20", False),
        ("n = 10", 11.0, 20.0, False),
        ("n = 1", True, True, False),
    ],
)
def test_a_bound_skips_only_what_no_row_can_satisfy(
    where: str, low: object, high: object, skipped: bool
) -> None:
    assert excluded({"n": (low, high)}, bounds(where, {"n": "bigint"})) is skipped


def test_a_timestamp_bound_allows_for_athenas_millisecond_rounding() -> None:
    after = bounds("ts >= timestamp '2026-01-01 00:00:01'", {"ts": "timestamp"})
    start = dt.datetime(2026, 1, 1)
    # 00:00:00.9996 reads as 00:00:01.000 on Athena: the row group may hold a match
    assert not excluded({"ts": (start, start + dt.timedelta(microseconds=999_600))}, after)
    assert excluded({"ts": (start, start + dt.timedelta(microseconds=998_000))}, after)


@pytest.mark.parametrize(
    ("where", "types"),
    [
        ("x = 1.5", {"x": "double"}),
        ("v = 'abc'", {"v": "varchar(3)"}),
        ("c = 'a'", {"c": "char(1)"}),
        ("n = 1e3", {"n": "bigint"}),
        ("n = '5'", {"n": "bigint"}),
        ("d = '2026-01-01'", {"d": "date"}),
        ("s = 5", {"s": "string"}),
        ("ts = timestamp '2026-01-01 00:00:00 UTC'", {"ts": "timestamp"}),
        ("ts = timestamp '2026-01-01 00:00:00+01:00'", {"ts": "timestamp"}),
        ("ts = timestamp '2026-01-01'", {"ts": "timestamp with time zone"}),
        ("n = m", {"n": "bigint", "m": "bigint"}),
        ("n between symmetric 10 and 3", {"n": "bigint"}),
        ("other = 1", {"n": "bigint"}),
    ],
)
def test_a_predicate_outside_the_exact_cases_gives_no_bound(where: str, types: dict[str, str]) -> None:
    assert bounds(where, types) == ()
