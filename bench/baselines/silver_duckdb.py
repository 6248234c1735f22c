"""The silver job's rules in DuckDB SQL, as fast as DuckDB runs them: the floor the PySpark job is measured against.

The rules of glue_jobs (bronze.py, transform.py): header matched by name (files grouped by header and encoding; a
file that is not valid UTF-8 is read as Latin-1 and quarantined as ``not_utf8``, one whose first record names no
order column as ``missing_header`` (that record is a row too), one missing a required column as
``missing_column``), lines with the wrong field count kept as ``malformed_row`` with the raw line (``too_many_fields``
past the job's MAX_FIELDS), the same validation order and reason codes (a value longer than the job's bound is
``value_too_long``), trim + upper-case normalisation, the latest version of each order_id wins (ingested_at from
the file name, then file name, then line), Parquet partitioned by ``order_date`` (silver) and ``ingest_date``
(quarantine).

Like the job, two passes over the CSV, each one streaming statement (no temporary table, insertion order not
preserved): the first writes the quarantine, the second the latest version of each valid order_id. The only
tables are DuckDB's reject log of lines it cannot split at all and those lines (a handful). Full refresh only: no bookmark, no
incremental merge, no atomic swap; the figures the job reconciles (rows read, duplicates) are counted after the
timed work, and only when asked for.
"""

from __future__ import annotations

import base64
import codecs
import csv
import datetime as dt
import io
import time
from pathlib import Path

from duckdb import DuckDBPyConnection

from bench.baselines.duckdb_config import connect
from glue_jobs.bounds import DEFAULT
from glue_jobs.bronze import has_header
from glue_jobs.inventory import iter_records
from glue_jobs.transform import MAX_FIELDS, MAX_LENGTH

COLUMNS = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")
NAME_TIME = r"orders_lambda_(\d{8}_\d{6})_"
FOLDER_DATE = r"ingest_date=(\d{4}-\d{2}-\d{2})"
# DuckDB's reject log keeps the first 10,000 characters of a line it could not split
REJECT_LOG_LINE = 10_000


# (header, valid UTF-8), as the job groups files
Group = tuple[tuple[str, ...], bool]


def _is_utf8(path: Path) -> bool:
    """Whether the whole file decodes as UTF-8 (the job checks every byte too, streaming)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _group(path: Path) -> Group:
    utf8 = _is_utf8(path)
    with path.open("rb") as handle:
        line = handle.readline().decode("utf-8" if utf8 else "latin-1").lstrip("\ufeff")
    return tuple(name.strip().lower() for name in next(csv.reader(io.StringIO(line)), [])), utf8


def _whole_file_reason(group: Group) -> str:
    """Why every row of a file of ``group`` is quarantined ("" when its rows are validated one by one), as the job
    decides it (glue_jobs.bronze.whole_file_reason)."""
    header, utf8 = group
    if not utf8:
        return "not_utf8"
    if not has_header(header):
        return "missing_header"
    return "missing_column" if any(c not in header for c in COLUMNS) else ""


def _codes(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return sorted({row[column].strip().upper() for row in csv.DictReader(handle) if row[column].strip()})


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _ingested_at(source_file: str = "source_file", file_path: str = "file_path") -> str:
    """When the file landed: the time in its name, else its ingest_date folder, else 1970 (as the job)."""
    return f"""coalesce(
        try_strptime(regexp_extract({source_file}, '{NAME_TIME}', 1), '%Y%m%d_%H%M%S'),
        try_strptime(regexp_extract({file_path}, '{FOLDER_DATE}', 1), '%Y-%m-%d'),
        timestamp '1970-01-01'
    )"""


def _ingest_date(file_path: str = "file_path", ingested_at: str = "ingested_at") -> str:
    return f"coalesce(try_cast(regexp_extract({file_path}, '{FOLDER_DATE}', 1) as date), cast({ingested_at} as date))"


def _bronze(groups: dict[Group, list[str]], keep_rejects: bool) -> tuple[str, list]:
    """One SELECT over every bronze file: the raw bronze columns as strings (in the job's order, by name), the raw
    line of a line with the wrong field count, whether the file lacks a required column, the file and the line."""
    selects, params = [], []
    for g, ((header, utf8), paths) in enumerate(sorted(groups.items())):
        # an empty file: no header, no rows
        if not header:
            continue
        names = [n if n and n not in header[:i] else f"_c{i}" for i, n in enumerate(header)]
        # One column more than the header, null padding and no null string: a short line shows as a NULL field,
        # a long one as a non-NULL __extra. Longer lines, or broken quoting, go to the reject log.
        columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in [*names, "__extra"]) + "}"
        fields = ", ".join(
            (f'"{c}"' if c in header else "cast(null as varchar)") + f' as "{c}"' for c in COLUMNS
        )
        short = " or ".join(f'"{n}" is null' for n in names)
        rejects = (
            f", store_rejects = true, rejects_table = 'rej{g}', rejects_scan = 'scan{g}'"
            if keep_rejects
            else ""
        )
        selects.append(
            f"""select {fields},
                   case when {short} or __extra is not null
                        then concat_ws(',', {", ".join(f'"{n}"' for n in [*names, "__extra"])}) end as raw_record,
                   {any(c not in header for c in COLUMNS)} as missing_column, {not utf8} as not_utf8,
                   parse_filename(filename) as source_file, filename as file_path, ordinality as line
            from read_csv(?, header = true, columns = {columns}, filename = true, quote = '"', escape = '"',
                          auto_detect = false, null_padding = true, nullstr = '\x01', ignore_errors = true,
                          encoding = '{"utf-8" if utf8 else "latin-1"}'{rejects})
                 with ordinality"""
        )
        params.append(paths)
    return " union all ".join(selects), params


def _validated(bronze: str, countries: list[str], products: list[str]) -> str:
    """The bronze rows with normalised, typed values and their reject reason (null for a valid row)."""
    return f"""
        with trimmed as (
            select *,
                trim(order_id) as t_id, trim(order_date) as t_date, trim(customer_id) as t_customer,
                upper(trim(country)) as t_country, upper(trim(product)) as t_product,
                trim(quantity) as t_quantity, trim(unit_price) as t_price, {_ingested_at()} as ingested_at
            from ({bronze})
        ),
        typed as (
            select *,
                case when regexp_full_match(t_date, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
                     then try_cast(t_date as date) end as d,
                case when regexp_full_match(t_quantity, '[+-]?[0-9]+')
                     then try_cast(t_quantity as integer) end as q,
                case when regexp_full_match(t_price, '[+-]?[0-9]+(\\.[0-9]{{1,2}})?')
                     then try_cast(t_price as decimal(10, 2)) end as p
            from trimmed
        )
        select *,
            {_ingest_date()} as ingest_date,
            case
                when not_utf8 then 'not_utf8'
                when missing_column then 'missing_column'
                when ingested_at > timestamp '{_latest_landing()}' then 'ingested_at_out_of_range'
                when raw_record is not null then 'malformed_row'
                when coalesce(t_id, '') = '' or coalesce(t_date, '') = '' or coalesce(t_customer, '') = ''
                    or coalesce(t_country, '') = '' or coalesce(t_product, '') = ''
                    or coalesce(t_quantity, '') = '' or coalesce(t_price, '') = '' then 'missing_required_field'
                when {_too_long()} then 'value_too_long'
                when d is null then 'bad_date'
                when d < date '{DEFAULT.earliest_order_date}'
                    or d > cast(ingested_at + interval {DEFAULT.max_skew_hours} hour as date) then 'date_out_of_range'
                when q is null then 'bad_quantity'
                when q <= 0 then 'non_positive_quantity'
                when p is null then 'bad_price'
                when p <= 0 then 'non_positive_price'
                when cast(q as decimal(38, 2)) * p > 9999999999.99 then 'revenue_overflow'
                when t_country not in ({_sql_list(countries)}) then 'unknown_country'
                when t_product not in ({_sql_list(products)}) then 'unknown_product'
            end as reject_reason
        from typed"""


def _latest_landing() -> str:
    """The latest landing time a file may carry now, as the job bounds it (glue_jobs.bounds)."""
    return DEFAULT.latest_ingested_at(dt.datetime.now(dt.UTC).replace(tzinfo=None)).isoformat(sep=" ")


def _too_long() -> str:
    """A trimmed value longer than the job's bound for its column (glue_jobs.transform.MAX_LENGTH)."""
    return " or ".join(f'length(trim("{c}")) > {n}' for c, n in MAX_LENGTH.items())


REJECTED = """
    nullif(order_id, '') as order_id, nullif(order_date, '') as order_date, nullif(customer_id, '') as customer_id,
    nullif(country, '') as country, nullif(product, '') as product, nullif(quantity, '') as quantity,
    nullif(unit_price, '') as unit_price, raw_record, reject_reason, source_file, ingested_at, ingest_date"""

LATEST = """
    select unnest(latest) from (
        select arg_max(
            struct_pack(
                order_id := t_id, customer_id := t_customer, country := t_country, product := t_product,
                quantity := q, unit_price := p, revenue := cast(cast(q as decimal(10, 0)) * p as decimal(12, 2)),
                source_file := source_file, ingested_at := ingested_at, order_date := d
            ),
            (ingested_at, source_file, line)
        ) as latest
        from ({validated})
        where reject_reason is null
        group by t_id
    )"""


def run_silver_duckdb(
    bronze_path: Path, silver_out: Path, reference_path: Path, *, count: bool = True
) -> dict:
    """Rebuild ``silver_out/silver_orders`` and ``silver_out/silver_orders_rejected`` from every bronze CSV.
    ``count``: also count rows read and duplicates dropped (a third pass, after the timed work)."""
    started = time.perf_counter()
    bronze_path, silver_out = Path(bronze_path), Path(silver_out)
    files = sorted(p for p in bronze_path.rglob("*.csv") if not p.name.startswith((".", "_")))
    groups: dict[Group, list[str]] = {}
    for path in files:
        groups.setdefault(_group(path), []).append(str(path))
    countries = _codes(Path(reference_path) / "countries.csv", "country_code")
    products = _codes(Path(reference_path) / "products.csv", "product_code")
    silver, rejected = silver_out / "silver_orders", silver_out / "silver_orders_rejected"
    metrics = {"files_read": len(files), "rows_written": 0, "rows_rejected": 0, "rejected_by_reason": {}}
    if not any(header for header, _ in groups):
        return {**metrics, "rows_read": 0, "duplicates_dropped": 0}
    silver_out.mkdir(parents=True, exist_ok=True)
    with connect(temp_root=silver_out) as con:
        con.execute("set preserve_insertion_order = false")
        whole = {g: paths for g, paths in groups.items() if g[0] and _whole_file_reason(g)}
        groups = {g: paths for g, paths in groups.items() if g not in whole}
        bronze, params = _bronze(groups, keep_rejects=True)
        quarantine = f"select {REJECTED} from ({_validated(bronze, countries, products)}) where reject_reason is not null"
        metrics["rows_rejected"] = con.execute(
            f"copy ({quarantine}) to '{rejected}' (format parquet, partition_by (ingest_date), overwrite_or_ignore)",
            params,
        ).fetchone()[0]
        metrics["rows_rejected"] += _unsplittable_lines(con, groups, rejected)
        metrics["rows_rejected"] += _whole_file_rejects(con, whole, rejected)
        bronze, params = _bronze(groups, keep_rejects=False)
        latest = LATEST.format(validated=_validated(bronze, countries, products))
        metrics["rows_written"] = con.execute(
            f"copy ({latest}) to '{silver}' (format parquet, partition_by (order_date), overwrite_or_ignore)",
            params,
        ).fetchone()[0]
        metrics["duration_s"] = round(time.perf_counter() - started, 3)
        if metrics["rows_rejected"]:
            metrics["rejected_by_reason"] = dict(
                con.execute(
                    f"select reject_reason, count(*) from read_parquet('{rejected}/*/*.parquet') group by 1 order by 1"
                ).fetchall()
            )
        if count:
            valid = con.execute(
                f"select count(*) from ({_validated(bronze, countries, products)}) where reject_reason is null",
                params,
            ).fetchone()[0]
            metrics["rows_read"] = valid + metrics["rows_rejected"]
            metrics["duplicates_dropped"] = valid - metrics["rows_written"]
    return metrics


def _whole_file_rejects(con: DuckDBPyConnection, whole: dict[Group, list[str]], rejected: Path) -> int:
    """Files quarantined whole (not UTF-8, no header, or a required column missing), record by record as the job
    splits and keeps them: the values by header name where there is a header (else none, and the first record is
    a row too) and the raw record (base64 of its bytes when the file is not UTF-8)."""
    rows = []
    for (header, utf8), paths in sorted(whole.items()):
        reason = _whole_file_reason((header, utf8))
        index = {name: i for i, name in reversed(list(enumerate(header)))} if has_header(header) else {}
        for path in paths:
            data = Path(path).read_bytes()
            records = iter_records(data, b'"' in data)
            if index:
                next(records, None)
            for record in records:
                text = record.decode("utf-8" if utf8 else "latin-1").lstrip("\ufeff")
                fields = next(csv.reader(io.StringIO(text)), []) if index else []
                values = [
                    fields[index[c]] if c in index and index[c] < len(fields) else None for c in COLUMNS
                ]
                raw = text.rstrip("\r\n") if utf8 else base64.b64encode(record).decode("ascii")
                rows.append((*values, raw, reason, Path(path).name, path))
    if not rows:
        return 0
    columns = ", ".join(
        f'"{c}" varchar' for c in [*COLUMNS, "raw_record", "reject_reason", "source_file", "file_path"]
    )
    con.execute(f"create or replace temp table whole_file_rejects ({columns})")
    con.executemany(f"insert into whole_file_rejects values ({', '.join('?' * (len(COLUMNS) + 4))})", rows)
    typed = (
        f"select *, {_ingested_at()} as ingested_at, {_ingest_date()} as ingest_date from whole_file_rejects"
    )
    con.execute(
        f"copy (select {REJECTED} from ({typed})) to '{rejected}' "
        "(format parquet, partition_by (ingest_date), append, filename_pattern 'whole_{uuid}')"
    )
    return len(rows)


def _unsplittable_lines(con: DuckDBPyConnection, groups: dict[Group, list[str]], rejected: Path) -> int:
    """Lines DuckDB could not split at all (more fields than the header and one, broken quoting), from its reject
    log of the first pass: quarantined with the raw line and, like Spark's parser, the header's fields split off
    it; as the job, ingested_at_out_of_range first, then too_many_fields (more than MAX_FIELDS fields outside
    quotes), else malformed_row."""
    logged = [
        f"""select distinct on (s.file_path, r.line) {g} as g, r.csv_line as raw_record,
               parse_filename(s.file_path) as source_file, s.file_path, r.line_byte_position
        from rej{g} as r inner join scan{g} as s using (scan_id, file_id)"""
        for g, (header, _) in enumerate(sorted(groups))
        if header
    ]
    if not logged:
        return 0
    con.execute(f"create or replace temp table unsplittable as {' union all '.join(logged)}")
    count = con.execute("select count(*) from unsplittable").fetchone()[0]
    if not count:
        return 0
    _whole_lines(con)
    by_group = []
    for g, (header, _) in enumerate(sorted(groups)):
        fields = ", ".join(
            (f"nullif(string_split(raw_record, ',')[{header.index(c) + 1}], '')" if c in header else "null")
            + f' as "{c}"'
            for c in COLUMNS
        )
        by_group.append(
            f"select {fields}, raw_record, source_file, file_path from unsplittable where g = {g}"
        )
    counted = "len(string_split(regexp_replace(raw_record, '\"[^\"]*\"', '', 'g'), ','))"
    rows = f"""select {", ".join(f'"{c}"' for c in COLUMNS)}, raw_record,
            case
                when ingested_at > timestamp '{_latest_landing()}' then 'ingested_at_out_of_range'
                when {counted} > {MAX_FIELDS} then 'too_many_fields'
                else 'malformed_row'
            end as reject_reason,
            source_file, ingested_at, {_ingest_date()} as ingest_date
        from (select *, {_ingested_at()} as ingested_at from ({" union all ".join(by_group)}))"""
    con.execute(
        f"copy ({rows}) to '{rejected}' "
        "(format parquet, partition_by (ingest_date), append, filename_pattern 'unsplittable_{uuid}')"
    )
    return count


def _whole_lines(con: DuckDBPyConnection) -> None:
    """Read a line the reject log cut short (a row of 25,001 fields) whole from its file, as the job keeps it and
    counts its fields."""
    cut = con.execute(
        "select file_path, line_byte_position, raw_record from unsplittable where length(raw_record) >= ?",
        [REJECT_LOG_LINE],
    ).fetchall()
    for path, position, raw in cut:
        with open(path, "rb") as handle:
            # the log's position can be a byte past the line's start: read from just before it
            handle.seek(max(0, position - 2))
            text = (handle.readline() + handle.readline()).decode("utf-8")
        start = text.find(raw)
        line = text[start:].split("\n", 1)[0].rstrip("\r") if start >= 0 else raw
        con.execute(
            "update unsplittable set raw_record = ? where file_path = ? and line_byte_position = ?",
            [line, path, position],
        )
