"""The silver job's logic in DuckDB SQL: the floor the PySpark job is benchmarked against.

Same rules as ``glue_jobs``: header matched by name (files grouped by header; a file missing a required column is
quarantined as ``missing_column``), malformed lines (wrong field count) kept as ``malformed_row``, the same
validation order and reason codes, trim + upper-case normalisation, latest ingest wins (file time, file name,
line), Parquet partitioned by ``order_date`` (silver) and ``ingest_date`` (rejected). Full refresh only: no
bookmark, no incremental merge, no atomic swap."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import duckdb

COLUMNS = ("order_id", "order_date", "customer_id", "country", "product", "quantity", "unit_price")


def _header(path: Path) -> tuple[str, ...]:
    with path.open("rb") as handle:
        line = handle.readline().decode("utf-8", errors="replace").lstrip("\ufeff")
    return tuple(name.strip().lower() for name in next(csv.reader(io.StringIO(line)), []))


def _codes(path: Path, column: str) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return sorted({row[column].strip().upper() for row in csv.DictReader(handle) if row[column].strip()})


def _sql_list(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def run_silver_duckdb(bronze_path: Path, silver_out: Path, reference_path: Path) -> dict:
    """Rebuild ``silver_out/silver_orders`` and ``silver_out/silver_orders_rejected`` from every bronze CSV."""
    started = time.perf_counter()
    bronze_path, silver_out = Path(bronze_path), Path(silver_out)
    files = sorted(p for p in bronze_path.rglob("*.csv") if not p.name.startswith((".", "_")))
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in files:
        groups.setdefault(_header(path), []).append(str(path))
    countries = _codes(Path(reference_path) / "countries.csv", "country_code")
    products = _codes(Path(reference_path) / "products.csv", "product_code")

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET memory_limit = '4GB'")
    parts = []
    for g, (header, paths) in enumerate(sorted(groups.items())):
        if not header:
            continue
        names = [n if n and n not in header[:i] else f"_c{i}" for i, n in enumerate(header)]
        # One column more than the header, null padding, and no null string: a short line shows as a NULL
        # field, a long one as a non-NULL ``__extra`` (even when its surplus field is empty).
        cols = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in [*names, "__extra"]) + "}"
        missing = any(c not in header for c in COLUMNS)
        select = ", ".join((f'"{c}"' if c in header else "NULL::VARCHAR") + f' AS "{c}"' for c in COLUMNS)
        short = " OR ".join(f'"{n}" IS NULL' for n in names)
        raw = " || ',' || ".join(f"coalesce(\"{n}\", '')" for n in names)
        con.execute(
            f"""CREATE TEMP TABLE g{g} AS
            SELECT {select}, CASE WHEN {short} OR __extra IS NOT NULL THEN {raw} END AS raw_record,
                   {missing} AS missing_column, parse_filename(filename) AS source_file, filename AS file_path,
                   row_number() OVER () AS line
            FROM read_csv(?, header = true, columns = {cols}, filename = true, quote = '"', escape = '"',
                          auto_detect = false, null_padding = true, nullstr = '\x01',
                          ignore_errors = true, store_rejects = true,
                          rejects_table = 'rej{g}', rejects_scan = 'scan{g}')""",
            [paths],
        )
        parts.append(f"SELECT * FROM g{g}")
        # Lines with the wrong number of fields (or broken quoting): kept as malformed rows, not lost.
        parts.append(
            f"""SELECT DISTINCT ON (s.file_path, r.line)
                   NULL, NULL, NULL, NULL, NULL, NULL, NULL, r.csv_line, {missing},
                   parse_filename(s.file_path), s.file_path, r.line::BIGINT
            FROM rej{g} r JOIN scan{g} s USING (scan_id, file_id)"""
        )
    if not parts:
        return {"rows_read": 0, "rows_written": 0, "rows_rejected": 0, "duplicates_dropped": 0}
    con.execute("CREATE TEMP TABLE raw AS " + " UNION ALL ".join(parts))
    name_time = r"orders_lambda_(\d{8}_\d{6})_"
    con.execute(
        f"""CREATE TEMP TABLE v AS
        WITH t AS (
          SELECT *,
            trim(order_id) AS t_id, trim(order_date) AS t_date, trim(customer_id) AS t_cust,
            upper(trim(country)) AS t_country, upper(trim(product)) AS t_product,
            trim(quantity) AS t_qty, trim(unit_price) AS t_price,
            coalesce(try_strptime(regexp_extract(source_file, '{name_time}', 1), '%Y%m%d_%H%M%S'),
                     try_strptime(regexp_extract(file_path, 'ingest_date=(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1), '%Y-%m-%d'),
                     TIMESTAMP '1970-01-01') AS ingested_at,
            coalesce(try_cast(regexp_extract(file_path, 'ingest_date=(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1) AS DATE),
                     try_strptime(regexp_extract(source_file, '{name_time}', 1), '%Y%m%d_%H%M%S')::DATE,
                     DATE '1970-01-01') AS ingest_date
          FROM raw
        ), typed AS (
          SELECT *,
            CASE WHEN regexp_full_match(t_date, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN try_cast(t_date AS DATE) END AS d,
            CASE WHEN regexp_full_match(t_qty, '[+-]?[0-9]+') THEN try_cast(t_qty AS INTEGER) END AS q,
            CASE WHEN regexp_full_match(t_price, '[+-]?[0-9]+(\\.[0-9]{{1,2}})?') THEN try_cast(t_price AS DECIMAL(10,2)) END AS p
          FROM t
        )
        SELECT *,
          CASE
            WHEN missing_column THEN 'missing_column'
            WHEN raw_record IS NOT NULL THEN 'malformed_row'
            WHEN coalesce(t_id, '') = '' OR coalesce(t_date, '') = '' OR coalesce(t_cust, '') = ''
              OR coalesce(t_country, '') = '' OR coalesce(t_product, '') = '' OR coalesce(t_qty, '') = ''
              OR coalesce(t_price, '') = '' THEN 'missing_required_field'
            WHEN d IS NULL THEN 'bad_date'
            WHEN q IS NULL THEN 'bad_quantity'
            WHEN q <= 0 THEN 'non_positive_quantity'
            WHEN p IS NULL THEN 'bad_price'
            WHEN p <= 0 THEN 'non_positive_price'
            WHEN q::DECIMAL(38,2) * p > 9999999999.99 THEN 'revenue_overflow'
            WHEN t_country NOT IN ({_sql_list(countries)}) THEN 'unknown_country'
            WHEN t_product NOT IN ({_sql_list(products)}) THEN 'unknown_product'
          END AS reject_reason
        FROM typed"""
    )
    silver_out.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""COPY (
          SELECT t_id AS order_id, t_cust AS customer_id, t_country AS country, t_product AS product,
                 q AS quantity, p AS unit_price, (q * p)::DECIMAL(12,2) AS revenue, source_file,
                 ingested_at, d AS order_date
          FROM v WHERE reject_reason IS NULL
          QUALIFY row_number() OVER (PARTITION BY t_id ORDER BY ingested_at DESC, source_file DESC, line DESC) = 1
          ORDER BY order_date, order_id
        ) TO '{silver_out / "silver_orders"}' (FORMAT parquet, PARTITION_BY (order_date), OVERWRITE_OR_IGNORE)"""
    )
    con.execute(
        f"""COPY (
          SELECT order_id, order_date, customer_id, country, product, quantity, unit_price, raw_record,
                 reject_reason, source_file, ingested_at, ingest_date
          FROM v WHERE reject_reason IS NOT NULL ORDER BY ingest_date, source_file, order_id
        ) TO '{silver_out / "silver_orders_rejected"}' (FORMAT parquet, PARTITION_BY (ingest_date), OVERWRITE_OR_IGNORE)"""
    )
    rows_read, rejected, valid, written = con.execute(
        """SELECT count(*), count(reject_reason), count(*) - count(reject_reason),
                  count(DISTINCT t_id) FILTER (WHERE reject_reason IS NULL) FROM v"""
    ).fetchone()
    by_reason = dict(
        con.execute(
            "SELECT reject_reason, count(*) FROM v WHERE reject_reason IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
    )
    return {
        "files_read": len(files),
        "rows_read": rows_read,
        "rows_written": written,
        "rows_rejected": rejected,
        "rejected_by_reason": by_reason,
        "duplicates_dropped": valid - written,
        "duration_s": round(time.perf_counter() - started, 3),
    }
