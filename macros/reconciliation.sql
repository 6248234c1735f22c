{#
    The reconciliation's window (data-tests/singular/assert_gold_reconciles_with_silver.sql,
    docs/decisions/0010-reconciliation-window.md). On an incremental build the reconciliation checks every order
    date by what is cheap (row counts: silver's per partition, gold_orders' per grain, fct_orders' order_date) and
    compares the value columns (quantity, revenue) only on the order dates that builds since its last green run
    could have changed. Its mark is kept with the data-test windows' (macros/test_window.sql, anchored on
    fct_orders' ingested_at), so a failed reconciliation keeps its mark and the next build compares those dates
    again.

    The dates: those of the silver rows ingested after the window's start (a version gold may have missed), of the
    rows fct_orders merged (ingested after it), of the versions int_order_versions logged (ingested after it) and
    of the versions they replaced, and of the orders this build absorbed as moved away (their rows are deleted,
    their dates recomputed: macros/late_silver.sql). The same ingested_at > start reads the other windowed tests
    of these relations make.

    Returns a predicate on `column` (an order date): `column in (<date literals>)` when the test runs against the
    warehouse (literals: silver's partitions, Iceberg's partition bounds and DuckDB's zone maps prune on them),
    the same dates as a subquery when it cannot query (`dbt compile --no-introspect` with test_window_preview);
    none on a full sweep (`--full-refresh`, var full_test_sweep, or no mark yet): every date is compared.
#}
{% macro reconciliation_window(column) -%}
    {%- set start = lakehouse.test_window_start('assert_gold_reconciles_with_silver') -%}
    {%- if start is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set versions = lakehouse.model_relation('int_order_versions') -%}
    {%- set query -%}
        select cast(order_date as date) as order_date from {{ source('silver', 'silver_orders') }}
        where ingested_at > {{ start }}
        union
        select order_date from {{ lakehouse.model_relation('fct_orders') }} where ingested_at > {{ start }}
        union
        select order_date from {{ versions }} where ingested_at > {{ start }}
        union
        select previous_order_date from {{ versions }}
        where ingested_at > {{ start }} and previous_order_date is not null
    {%- endset -%}
    {%- if flags.INTROSPECT is sameas false -%}
        {{ return(column ~ ' in (select order_date from (' ~ query ~ ') as changed)') }}
    {%- endif -%}
    {%- set dates = [] -%}
    {%- for value in run_query('select distinct cast(order_date as varchar) from (' ~ query ~ ') as changed')
        .columns[0].values() if value -%}
        {%- do dates.append(value[:10]) -%}
    {%- endfor -%}
    {%- for row in graph.get('lakehouse_absorbed_moves') or [] -%}
        {%- do dates.append(row[2][:10]) -%}
    {%- endfor -%}
    {{ return(lakehouse.date_in(column, dates)) }}
{%- endmacro %}
