{#
    Incremental helpers shared by the marts.

    Every mart stores the newest ingested_at it has absorbed (`last_ingested_at`, or `ingested_at` on
    fct_orders). An incremental run takes the orders ingested after that watermark minus var('lookback_days'),
    finds the keys they touch (dates, customers, products, months) and recomputes those keys from the
    full history, then merges them on the mart's unique_key. A correction carries a new ingested_at, so it is
    always picked up, however old its order_date.
#}

{# A boolean SQL expression: is this row newer than the mart's watermark minus the lookback? #}
{% macro is_recently_ingested(column='ingested_at', watermark_column='last_ingested_at') -%}
    {{ column }} > (
        select
            coalesce(
                {{ lakehouse.lookback_start('max(' ~ watermark_column ~ ')') }},
                cast('1900-01-01 00:00:00' as {{ lakehouse.type_timestamp() }})
            )
        from {{ this }}
    )
{%- endmacro %}

{#
    The start of the window a watermark opens: the watermark minus var('lookback_days'). The merges use it on
    the mart's newest ingested_at; the data tests on the same watermark as of their last green run
    (macros/test_window.sql).
#}
{% macro lookback_start(watermark) -%}
    {{ dbt.dateadd('day', -1 * (var('lookback_days') | int), watermark) }}
{%- endmacro %}

{# Iceberg hidden partitioning on Athena; nothing on DuckDB (where partitioned_by only applies to DuckLake). #}
{% macro partition_by_month(column) -%}
    {{ return(adapter.dispatch('partition_by_month', 'lakehouse')(column)) }}
{%- endmacro %}

{% macro default__partition_by_month(column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro athena__partition_by_month(column) -%}
    {{ return(['month(' ~ column ~ ')']) }}
{%- endmacro %}

{#
    dbt's is_incremental() asks the warehouse whether the table exists. `dbt compile --no-introspect` (used to
    check the Athena target without AWS access) holds no connection, so the question cannot be asked: render the
    full-refresh SQL then. Everything else is dbt's own macro.
#}
{% macro is_incremental() -%}
    {%- if execute and flags.INTROSPECT is sameas false -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{%- endmacro %}

{# The value of `value` on the row with the smallest `key` of the group: min_by on both DuckDB and Athena (Trino). #}
{% macro min_by(value, key) -%}
    {{ return(adapter.dispatch('min_by', 'lakehouse')(value, key)) }}
{%- endmacro %}

{% macro default__min_by(value, key) -%}
    min_by({{ value }}, {{ key }})
{%- endmacro %}

{#
    Orders a customer's orders: earliest order_date first, then order_id. One sortable string, so "the first
    order" is an aggregate (min_by) instead of a window over the whole history. ISO dates sort as strings.
#}
{% macro first_order_key(order_date='order_date', order_id='order_id') -%}
    {{ dbt.concat(["cast(" ~ order_date ~ " as varchar)", "'|'", order_id]) }}
{%- endmacro %}
