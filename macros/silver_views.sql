{#
    on-run-start: locally, make silver reachable from the warehouse for analysts:
    views silver.silver_orders and silver.silver_orders_rejected over the Parquet files of the lake.
    A folder with no file yet (an empty lake, no rejected rows) gets an empty view with the contract's columns,
    so a query returns nothing instead of failing. Nothing to do on Athena: silver is in the Glue catalog.
    A silver commit journal in silver/_staging/ means silver is half-swapped (a run committing, or killed while
    committing): the build stops rather than read it; `lakehouse gold` completes the commit first.
#}
{% macro create_silver_views() -%}
    {{ return(adapter.dispatch('create_silver_views', 'lakehouse')()) }}
{%- endmacro %}

{% macro default__create_silver_views() -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__create_silver_views() -%}
    {%- if execute -%}
        {%- set root = (env_var('LAKEHOUSE_LAKE', 'lake') ~ '/silver') | replace("'", "''") -%}
        {%- set views = {
            'silver_orders': {
                'glob': root ~ '/silver_orders/order_date=*/*.parquet',
                'empty': "cast(null as varchar) as order_id, cast(null as varchar) as customer_id, "
                    ~ "cast(null as varchar) as country, cast(null as varchar) as product, "
                    ~ "cast(null as integer) as quantity, cast(null as decimal(10, 2)) as unit_price, "
                    ~ "cast(null as decimal(12, 2)) as revenue, cast(null as varchar) as source_file, "
                    ~ "cast(null as timestamp) as ingested_at, cast(null as date) as order_date",
            },
            'silver_orders_rejected': {
                'glob': root ~ '/silver_orders_rejected/ingest_date=*/*.parquet',
                'empty': "cast(null as varchar) as order_id, cast(null as varchar) as order_date, "
                    ~ "cast(null as varchar) as customer_id, cast(null as varchar) as country, "
                    ~ "cast(null as varchar) as product, cast(null as varchar) as quantity, "
                    ~ "cast(null as varchar) as unit_price, cast(null as varchar) as raw_record, "
                    ~ "cast(null as varchar) as reject_reason, cast(null as varchar) as source_file, "
                    ~ "cast(null as timestamp) as ingested_at, cast(null as date) as ingest_date",
            },
        } -%}
        {%- set journals = run_query("select file from glob('" ~ root ~ "/_staging/*/_journal.json')").columns[0].values() -%}
        {%- if journals | length > 0 -%}
            {%- do exceptions.raise_compiler_error("silver has an unfinished commit (" ~ journals[0] ~ "): run `lakehouse gold`, which completes it first, or `lakehouse silver`, then build again") -%}
        {%- endif -%}
        {%- do run_query('create schema if not exists silver') -%}
        {%- for name, view in views.items() -%}
            {%- set files = run_query("select count(*) from glob('" ~ view.glob ~ "')").columns[0].values()[0] -%}
            {%- if files > 0 -%}
                {%- set body = "select * from read_parquet('" ~ view.glob ~ "', hive_partitioning = true)" -%}
            {%- else -%}
                {%- set body = "select " ~ view.empty ~ " where false" -%}
                {%- set hint = ": run `make demo` (or lakehouse ingest, then lakehouse silver) to fill the lake" if name == 'silver_orders' else "" -%}
                {%- do log("silver." ~ name ~ ": no Parquet file under " ~ view.glob ~ " yet; the view is empty" ~ hint, info=true) -%}
            {%- endif -%}
            {%- do run_query("create or replace view silver." ~ name ~ " as " ~ body) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
