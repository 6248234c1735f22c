"""The gold baseline: the five marts of the dbt project computed in plain DuckDB SQL, as directly as possible.

`bench.run` times it beside `lakehouse gold` (dbt build): the difference is what dbt's orchestration, tests,
contracts and incremental machinery cost. Same semantics as the dbt models (see models/marts/*.sql).

    run_gold_duckdb(Path("lake/silver"), Path("/tmp/gold.duckdb"))
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from bench.baselines.duckdb_config import connect

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
MARTS_DIR = REPO / "models" / "marts"

MARTS = {
    "fct_orders": """
        select
            o.order_id, o.order_date, cast(date_trunc('month', o.order_date) as date) as order_month,
            o.customer_id, o.country, c.country_name, c.region, o.product, p.product_name, p.category,
            cast(o.quantity as bigint) as quantity, o.unit_price, o.revenue, o.source_file, o.ingested_at
        from silver_orders as o
        left join countries as c on o.country = c.country_code
        left join products as p on o.product = p.product_code
    """,
    "gold_orders": """
        select
            order_date, country, product,
            cast(sum(quantity) as bigint) as total_quantity,
            cast(sum(revenue) as decimal(18, 2)) as total_revenue,
            count(*) as order_count,
            max(ingested_at) as last_ingested_at
        from gold.fct_orders
        group by all
    """,
    "dim_customers": """
        with per_country as (
            select customer_id, country, count(*) as n, sum(revenue) as r
            from gold.fct_orders group by all
        ),
        home as (
            select customer_id, arg_min(country, (-n, -r, country)) as home_country
            from per_country group by all
        )
        select
            t.customer_id, h.home_country,
            min(t.order_date) as first_order_date, max(t.order_date) as last_order_date,
            count(*) as order_count, cast(sum(t.revenue) as decimal(18, 2)) as lifetime_revenue,
            max(t.ingested_at) as last_ingested_at
        from gold.fct_orders as t join home as h using (customer_id)
        group by all
    """,
    "dim_products": """
        select
            p.product_code, p.product_name, p.category, p.list_price,
            min(o.order_date) as first_order_date, max(o.order_date) as last_order_date,
            count(o.order_id) as order_count, coalesce(sum(o.quantity), 0) as total_quantity,
            cast(coalesce(sum(o.revenue), 0) as decimal(18, 2)) as total_revenue,
            max(o.ingested_at) as last_ingested_at
        from products as p left join gold.fct_orders as o on o.product = p.product_code
        group by all
    """,
    "fct_country_monthly_kpis": """
        with firsts as (
            select arg_min({'order_month': order_month, 'country': country}, (order_date, order_id)) as f
            from gold.fct_orders group by customer_id
        ),
        new_customers as (
            select f.order_month as order_month, f.country as country, count(*) as new_customers
            from firsts group by all
        ),
        monthly as (
            select
                order_month, country, max(region) as region, sum(revenue) as revenue, count(*) as order_count,
                count(distinct customer_id) as active_customers, max(ingested_at) as last_ingested_at
            from gold.fct_orders group by all
        )
        select
            m.order_month, m.country, m.region, cast(m.revenue as decimal(18, 2)) as revenue, m.order_count,
            cast(m.revenue / m.order_count as decimal(18, 2)) as avg_order_value, m.active_customers,
            coalesce(n.new_customers, 0) as new_customers, m.last_ingested_at
        from monthly as m left join new_customers as n using (order_month, country)
    """,
}


def contract_columns(mart: str) -> list[str]:
    """The mart's columns in the order of its enforced contract (models/marts/<mart>.yml)."""
    spec = yaml.safe_load((MARTS_DIR / f"{mart}.yml").read_text())
    (model,) = [m for m in spec["models"] if m["name"] == mart]
    return [column["name"] for column in model["columns"]]


def _silver_glob(silver_path: Path) -> str:
    """Accept the silver layer root (`lake/silver`) or the silver_orders folder itself."""
    folder = silver_path / "silver_orders" if (silver_path / "silver_orders").is_dir() else silver_path
    return str(folder / "order_date=*" / "*.parquet")


def _quote(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def run_gold_duckdb(silver_path: Path, db_path: Path) -> dict:
    """Build the gold marts from silver Parquet into the DuckDB file `db_path` (schema gold).

    Returns {"seconds": wall time, "rows": {mart: row count}}."""
    started = time.perf_counter()
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with connect(temp_root=db_path.parent) as con:
        # Attached under a fixed alias: a file named gold.duckdb would otherwise make `gold.<mart>` ambiguous
        # (catalog gold or schema gold).
        con.execute(f"attach {_quote(db_path)} as warehouse")
        con.execute("use warehouse")
        con.execute("create schema if not exists gold")
        con.execute(
            "create or replace temp view silver_orders as select * "
            f"from read_parquet({_quote(_silver_glob(Path(silver_path)))}, hive_partitioning = true)"
        )
        con.execute(
            "create or replace temp table countries as select * "
            f"from read_csv({_quote(SEEDS / 'countries.csv')}, header = true, all_varchar = true)"
        )
        con.execute(
            "create or replace temp table products as select product_code, product_name, category, "
            "cast(list_price as decimal(10, 2)) as list_price "
            f"from read_csv({_quote(SEEDS / 'products.csv')}, header = true, all_varchar = true)"
        )
        rows = {}
        for mart, sql in MARTS.items():
            con.execute(f"create or replace table gold.{mart} as {sql}")
            rows[mart] = con.execute(f"select count(*) from gold.{mart}").fetchone()[0]
    return {"seconds": round(time.perf_counter() - started, 3), "rows": rows}
