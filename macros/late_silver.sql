{#
    Silver orders that landed before gold's lookback window (a producer's file stamped days ago, uploaded today):
    no incremental merge reads them, so the reconciliation test fails, and dbt's "Got N results" says neither why
    nor what to do. That test calls this first, when it runs (after the marts it reads are built): when silver
    holds orders fct_orders lacks that landed at or before fct_orders' newest ingested_at minus the lookback, it
    stops with one line naming their files and the fix.
    Cheap when nothing is late: the search (an anti join of all of silver's keys with fct_orders) runs only when the
    two row counts differ, which both engines answer from file metadata; equal counts mean the reconciliation
    passes, or fails for another reason that this line would not explain.
    `lakehouse gold` asks the same question after the same failure (lakehouse/gold_build.py) and absorbs the files
    by building again with a wider lookback; a plain `dbt build` (the Athena target too) stops with this line.
    Nothing on a full refresh (it reads all of silver), a first build, parse, compile or --no-introspect.
#}
{% macro fail_on_late_silver() -%}
    {%- if not execute or flags.FULL_REFRESH or flags.WHICH not in ['build', 'test', 'retry']
        or flags.INTROSPECT is sameas false -%}
        {{ return('') }}
    {%- endif -%}
    {%- set gold = load_relation(ref('fct_orders')) -%}
    {%- if gold is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set silver = source('silver', 'silver_orders') -%}
    {%- set counts = run_query(
        'select (select count(*) from ' ~ silver ~ ') as silver_orders, (select count(*) from ' ~ gold
        ~ ') as gold_orders'
    ).rows[0] -%}
    {%- if counts[0] == counts[1] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set query -%}
        with

        gold_window as (

            select {{ lakehouse.lookback_start('max(ingested_at)') }} as window_start
            from {{ gold }}

        ),

        late as (

            select
                silver.source_file,
                silver.ingested_at,
                gold_window.window_start

            from {{ silver }} as silver
            cross join gold_window
            left join {{ gold }} as gold
                on silver.order_id = gold.order_id and silver.ingested_at = gold.ingested_at
            where gold.order_id is null and silver.ingested_at <= gold_window.window_start

        )

        select
            source_file,
            cast(max(ingested_at) as varchar) as landed_at,
            count(*) as orders,
            cast(max(window_start) as varchar) as window_start

        from late
        group by source_file
        order by min(ingested_at), source_file
    {%- endset -%}
    {%- set files = run_query(query).rows -%}
    {%- if files | length > 0 -%}
        {%- set shown = [] -%}
        {%- for f in files[:3] -%}
            {%- do shown.append(f[0] ~ ' (' ~ f[2] ~ ' orders, landed ' ~ f[1] ~ ')') -%}
        {%- endfor -%}
        {%- set more = ' and ' ~ (files | length - 3) ~ ' more' if files | length > 3 else '' -%}
        {{ exceptions.raise_compiler_error(
            "gold does not reconcile with silver: " ~ (files | length) ~ " file(s) landed before gold's lookback"
            ~ " window (ingested at or before " ~ files[0][3] ~ ": the newest landing in gold minus lookback_days, "
            ~ var('lookback_days') ~ "), which an incremental build does not read: " ~ (shown | join(', ')) ~ more
            ~ "; rebuild gold with `lakehouse gold --full-refresh` (plain dbt: `dbt build --full-refresh`)"
        ) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
