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
    Then, when no file is late, the same for rows gold holds and silver no longer does (moved_away_orders, below:
    a correction moved the order further than the correction horizon): one line naming them, and the fix.
    `lakehouse gold` and the gold stage absorb them by building again with var('absorb_moved_orders').
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
    {#- rows gold holds and silver no longer does, found on the dates they are on; when they are the whole
        difference, no file can be late, and the anti join of every key below is not needed -#}
    {%- set moved = lakehouse.moved_away_orders() -%}
    {%- if moved | length > 0 and moved | length == counts[1] - counts[0] -%}
        {%- do lakehouse.fail_on_moved_away(moved) -%}
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
    {%- do lakehouse.fail_on_moved_away(moved) -%}
    {{ return('') }}
{%- endmacro %}

{# The one line for rows gold holds and silver no longer does (`moved`, from moved_away_orders), if any. #}
{% macro fail_on_moved_away(moved) -%}
    {%- if moved | length > 0 -%}
        {%- set shown = [] -%}
        {%- for row in moved[:3] -%}
            {%- do shown.append(row[0] ~ ' (on ' ~ row[2][:10] ~ ', landed ' ~ row[1] ~ ')') -%}
        {%- endfor -%}
        {%- set count = (moved | length) ~ ('+' if moved | length > 1000 else '') -%}
        {%- set more = ' and ' ~ (moved | length - 3) ~ ' more' if moved | length > 3 else '' -%}
        {%- set fix = "rebuild gold with `lakehouse gold --full-refresh` (plain dbt: `dbt build --full-refresh`)"
            if var('absorb_moved_orders', false) or moved | length > 1000 else
            "`lakehouse gold` absorbs them (plain dbt: `dbt build --vars '{absorb_moved_orders: true}'`)" -%}
        {{ exceptions.raise_compiler_error(
            "gold does not reconcile with silver: gold holds " ~ count ~ " order row(s) that silver no longer"
            ~ " holds (corrections moved them further than the correction horizon, and silver's sweep removed the"
            ~ " old rows): " ~ (shown | join(', ')) ~ more ~ "; " ~ fix
        ) }}
    {%- endif -%}
{%- endmacro %}

{#
    The twin of late files: orders of fct_orders that silver no longer holds, left by a correction that moved its
    order further than the correction horizon (docs/decisions/0005-correction-horizon.md). The hourly build does not
    find the version such a correction replaces, so gold keeps the old row beside the new one, as silver does until
    its sweep removes the old; from then on gold holds a row silver does not, on the old date. Rows, first the dates
    whose order count in fct_orders exceeds silver's (narrow: order_date alone), then those dates' orders that
    silver lacks (order_id and ingested_at of those dates only, literals the partitions and zone maps prune on):
    (order_id, ingested_at, order_date, customer_id, country, product), at most `limit` of them.
    Empty on a first build; called only when a build was asked to absorb moves or the reconciliation already fails.
#}
{% macro moved_away_orders(limit=1000) -%}
    {#- fct_orders' own pre-hook and merge ask too: a ref to itself would be a cycle -#}
    {%- set gold = load_relation(this if model.name == 'fct_orders' else ref('fct_orders')) -%}
    {%- if gold is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set silver = source('silver', 'silver_orders') -%}
    {%- set over = run_query(
        'select cast(gold_days.order_date as varchar) from (select order_date, count(*) as orders from ' ~ gold
        ~ ' group by order_date) as gold_days left join (select cast(order_date as date) as order_date,'
        ~ ' count(*) as orders from ' ~ silver ~ ' group by cast(order_date as date)) as silver_days'
        ~ ' on gold_days.order_date = silver_days.order_date'
        ~ ' where silver_days.orders is null or silver_days.orders < gold_days.orders'
    ).columns[0].values() -%}
    {%- if over | length == 0 -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for value in over -%}
        {%- do literals.append("cast('" ~ value[:10] ~ "' as date)") -%}
    {%- endfor -%}
    {%- set dates = '(' ~ literals | sort | join(', ') ~ ')' -%}
    {%- set query -%}
        select
            gold.order_id,
            cast(gold.ingested_at as varchar) as ingested_at,
            cast(gold.order_date as varchar) as order_date,
            gold.customer_id,
            gold.country,
            gold.product

        from {{ gold }} as gold
        left join (
            select order_id, ingested_at from {{ silver }} where order_date in {{ dates }}
        ) as silver
            on gold.order_id = silver.order_id and gold.ingested_at = silver.ingested_at
        where gold.order_date in {{ dates }} and silver.order_id is null
        order by gold.order_date, gold.order_id
        limit {{ limit + 1 }}
    {%- endset -%}
    {{ return(run_query(query).rows | list) }}
{%- endmacro %}

{#
    The moved-away orders a build absorbs, when var('absorb_moved_orders') asks (`lakehouse gold` and the gold
    stage ask after the reconciliation failed on them): found once per invocation, before fct_orders deletes them
    (cached in `graph`, which every node of an invocation shares), so the marts after it still see their keys.
    Empty otherwise, on a full refresh, and where the models do not read the warehouse (parse, unit tests).
    More than 1,000 stop the build in one line: they are written into the SQL as literals.
#}
{% macro absorbed_moves() -%}
    {%- if not (var('absorb_moved_orders', false) and lakehouse.reads_warehouse()) or flags.FULL_REFRESH -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set cached = graph.get('lakehouse_absorbed_moves') -%}
    {%- if cached is not none -%}
        {{ return(cached) }}
    {%- endif -%}
    {%- set rows = lakehouse.moved_away_orders() -%}
    {%- if rows | length > 1000 -%}
        {{ exceptions.raise_compiler_error(
            "gold holds more than 1,000 orders that silver no longer holds (corrections moved them beyond the"
            ~ " correction horizon): too many to absorb; rebuild gold with `lakehouse gold --full-refresh` (plain"
            ~ " dbt: `dbt build --full-refresh`)"
        ) }}
    {%- endif -%}
    {%- do graph.update({'lakehouse_absorbed_moves': rows}) -%}
    {{ return(rows) }}
{%- endmacro %}

{# fct_orders' pre-hook: delete the absorbed moved-away orders (each by order_id and ingested_at, on its date). #}
{% macro delete_absorbed_moves() -%}
    {%- set rows = lakehouse.absorbed_moves() -%}
    {%- if rows | length == 0 or not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set matches = [] -%}
    {%- set dates = [] -%}
    {%- for row in rows -%}
        {%- do dates.append("cast('" ~ row[2][:10] ~ "' as date)") -%}
        {%- do matches.append("(order_date = cast('" ~ row[2][:10] ~ "' as date) and order_id = '"
            ~ (row[0] | replace("'", "''")) ~ "' and ingested_at = cast('" ~ row[1] ~ "' as "
            ~ lakehouse.type_timestamp() ~ '))') -%}
    {%- endfor -%}
    {#- the dates first, alone: a filter zone maps and Iceberg's partition bounds can prune on -#}
    {{ return('delete from ' ~ this ~ ' where order_date in (' ~ dates | unique | join(', ') ~ ') and ('
        ~ matches | join(' or ') ~ ')') }}
{%- endmacro %}

{# The keys (`columns` of order_date, customer_id, country, product) of the absorbed moved-away orders, as a query. #}
{% macro absorbed_move_keys(columns) -%}
    {%- set index = {'order_date': 2, 'customer_id': 3, 'country': 4, 'product': 5} -%}
    {%- set selects = [] -%}
    {%- for row in lakehouse.absorbed_moves() -%}
        {%- set values = [] -%}
        {%- for column in columns -%}
            {%- set value = (row[index[column]] | string)[:10] if column == 'order_date' else row[index[column]] -%}
            {%- set literal = "'" ~ (value | string | replace("'", "''")) ~ "'" -%}
            {%- do values.append(('cast(' ~ literal ~ ' as date)' if column == 'order_date' else literal)
                ~ ' as ' ~ column) -%}
        {%- endfor -%}
        {%- do selects.append('select ' ~ values | join(', ')) -%}
    {%- endfor -%}
    {{ return(selects | unique | join(' union ')) }}
{%- endmacro %}
