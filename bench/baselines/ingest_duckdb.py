"""DuckDB baseline for the ingestion stage: the same kind of bronze CSV from one SQL statement.

Same header and value formats as `ingestion` (20-hex order ids, ISO dates, ``C`` + 8 digits, seed codes,
positive integer quantities, 2-decimal prices near list price), with countries and products weighted by the seed
files. Deterministic for a seed (values come from ``hash(row, seed, column)``, not ``random()``), but without the
generator's customer model, seasonality or defects: it is the "how fast can a plain SQL engine write this" bar."""

from __future__ import annotations

from pathlib import Path

import duckdb

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
START_DATE = "2025-01-01"
DAYS = 365


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def generate_csv_duckdb(path: Path, rows: int, seed: int) -> None:
    """Write ``rows`` orders over 365 days from 2025-01-01 to ``path`` as CSV with a header."""
    if rows < 1:
        raise ValueError(f"rows is {rows!r}; it must be 1 or more")
    countries, products = _sql_path(SEEDS / "countries.csv"), _sql_path(SEEDS / "products.csv")
    seed = int(seed)
    customers = max(rows // 2, 50)
    sql = f"""
    COPY (
        WITH c AS (  -- each code repeated order_weight times: a uniform pick from the list is a weighted pick
            SELECT list(country_code ORDER BY country_code) AS codes
            FROM (SELECT country_code, unnest(range(order_weight::INT))
                  FROM read_csv('{countries}', header = true))
        ),
        p AS (
            SELECT list(product_code ORDER BY product_code) AS codes, list(list_price ORDER BY product_code) AS prices
            FROM (SELECT product_code, list_price::DECIMAL(10, 2) AS list_price,
                         unnest(range(popularity_weight::INT))
                  FROM read_csv('{products}', header = true))
        ),
        o AS (
            SELECT i,
                   hash(i, {seed}, 1) AS h1, hash(i, {seed}, 2) AS h2, hash(i, {seed}, 3) AS h3,
                   hash(i, {seed}, 4) AS h4, hash(i, {seed}, 5) AS h5
            FROM range({rows}) t(i)
        )
        SELECT
            format('{{:016x}}{{:04x}}', h1, h2 % 65536) AS order_id,
            DATE '{START_DATE}' + (i * {DAYS} // {rows})::INT AS order_date,
            'C' || lpad(((h2 // 65536) % {customers} + 1)::VARCHAR, 8, '0') AS customer_id,
            c.codes[1 + (h3 % len(c.codes))::INT] AS country,
            p.codes[1 + (h4 % len(p.codes))::INT] AS product,
            1 + (h5 % 3)::INT AS quantity,
            round(p.prices[1 + (h4 % len(p.codes))::INT] * (1 - ((h5 // 8) % 4) * 0.05), 2)::DECIMAL(10, 2)
                AS unit_price
        FROM o, c, p  -- range() keeps insertion order in COPY, so the file is deterministic
    ) TO '{_sql_path(Path(path))}' (FORMAT csv, HEADER true)
    """
    con = duckdb.connect()
    try:
        con.execute(sql)
    finally:
        con.close()
