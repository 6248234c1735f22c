{#
    Incremental helpers shared by the marts.

    Every mart stores the newest ingested_at it has absorbed (`last_ingested_at`, or `ingested_at` on
    fct_orders). An incremental run takes the order versions ingested after that watermark minus
    var('lookback_days'), from the log of every version gold has seen (int_order_versions), finds the keys they
    touch, in their new version and in the one they replace (dates, customers, products, months), recomputes those
    keys from the full history, and merges them on the mart's unique_key; a key left with no order is deleted
    (merge_deleting_emptied_keys). A correction carries a new ingested_at, so it is always picked up, however old
    its order_date, and the keys it left are recomputed too.

    Cost that follows the new data: when a model runs against the warehouse, the watermark and the small key lists
    (dates, months, products) are fetched first (run_query) and written into the model's SQL as literals, so
    DuckDB's zone maps and Athena's Iceberg file and partition bounds can skip the rest of the history; the merge
    into the target gets the same literals (prune_merge_target). Unit tests and `dbt compile` render the same
    logic as subqueries.
#}

{#
    The start of an incremental run's window: the newest `watermark_column` of `this` minus var('lookback_days')
    (1900-01-01 for an empty table), as a SQL timestamp: a literal when the model runs against the warehouse, so
    a filter on it can prune; the subquery otherwise.
#}
{% macro incremental_window_start(watermark_column='last_ingested_at') -%}
    {%- set start = 'coalesce(' ~ lakehouse.lookback_start('max(' ~ watermark_column ~ ')')
        ~ ", cast('1900-01-01 00:00:00' as " ~ lakehouse.type_timestamp() ~ '))' -%}
    {%- if lakehouse.reads_warehouse() -%}
        {%- set found = run_query('select cast(' ~ start ~ ' as varchar) from ' ~ this).columns[0].values()[0] -%}
        {{ return("cast('" ~ found ~ "' as " ~ lakehouse.type_timestamp() ~ ")") }}
    {%- endif -%}
    {{ return('(select ' ~ start ~ ' from ' ~ this ~ ')') }}
{%- endmacro %}

{#
    True while a model is rendered to run against the warehouse (dbt run, build, compile with a connection):
    run_query may read the tables. False when parsing, in unit tests (their inputs are fixtures, not tables) and under
    --no-introspect.
#}
{% macro reads_warehouse() -%}
    {{ return(execute and model.resource_type == 'model' and flags.INTROSPECT is not sameas false) }}
{%- endmacro %}

{#
    The right-hand side of `x in ...` for the values of the one-column `query`: a list of literals of `data_type`
    when the model runs against the warehouse (what zone maps and partition bounds can use), the subquery otherwise.
    For small key sets only (dates, months, products): a list is written into the SQL.
#}
{% macro key_list(query, data_type) -%}
    {%- if not lakehouse.reads_warehouse() -%}
        {{ return('(' ~ query ~ ')') }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for value in run_query(query).columns[0].values() if value is not none -%}
        {%- do literals.append("cast('" ~ (value | string | replace("'", "''")) ~ "' as " ~ data_type ~ ")") -%}
    {%- endfor -%}
    {{ return('(' ~ ((literals | unique | sort | join(', ')) or 'cast(null as ' ~ data_type ~ ')') ~ ')') }}
{%- endmacro %}

{#
    A predicate: `column` (a date) lies in one of `months`, a key_list of dates (first days of months). When those
    are literals, a range between two date literals per month, which DuckDB's zone maps and Athena's partition and
    file bounds prune on (a table partitioned by month(order_date) has no month column to compare with the list),
    or false for an empty list; the month of `column` in the subquery otherwise (unit tests, compile).
#}
{% macro in_months(column, months) -%}
    {%- set firsts = modules.re.findall("cast\\('([0-9]{4}-[0-9]{2})-[0-9]{2}' as date\\)", months) -%}
    {%- if months.startswith('(select') -%}
        {{ return(lakehouse.month_start(column) ~ ' in ' ~ months) }}
    {%- endif -%}
    {%- set ranges = [] -%}
    {%- for month in firsts | unique | sort -%}
        {%- set first = modules.datetime.date.fromisoformat(month ~ '-01') -%}
        {%- set next = (first + modules.datetime.timedelta(days=32)).replace(day=1) -%}
        {%- do ranges.append('(' ~ column ~ " >= cast('" ~ first.isoformat() ~ "' as date) and " ~ column
            ~ " < cast('" ~ next.isoformat() ~ "' as date))") -%}
    {%- endfor -%}
    {#- no month (the run touched nothing): nothing to read -#}
    {{ return('(' ~ ((ranges | join(' or ')) or '1 = 0') ~ ')') }}
{%- endmacro %}

{#
    The keys that the order versions ingested after `start` touch, in their new version and in the version each
    replaced: a query returning `columns` (some of order_date, customer_id, country, product) from
    int_order_versions and, unless `with_fct_orders` is false, from the orders of fct_orders ingested after `start`
    (the same new versions: so a mart built without the log, `dbt build -s fct_orders+`, still takes every new
    and late order, as it did before the log). A mart recomputes these keys; one that no order holds any more is
    deleted. When the build absorbs orders moved beyond the correction horizon (var('absorb_moved_orders'),
    macros/late_silver.sql), their old keys too: fct_orders deletes those rows, and the marts recompute the keys.
#}
{% macro changed_keys(columns, start, with_fct_orders=true) -%}
    {%- set log = ref('int_order_versions') -%}
    {%- set previous = [] -%}
    {%- for column in columns -%}
        {%- do previous.append('previous_' ~ column ~ ' as ' ~ column) -%}
    {%- endfor -%}
    select {{ columns | join(', ') }} from {{ log }} where ingested_at > {{ start }}
    union
    select {{ previous | join(', ') }} from {{ log }}
    where ingested_at > {{ start }} and previous_order_date is not null
    {%- if with_fct_orders %}
    union
    select {{ columns | join(', ') }} from {{ ref('fct_orders') }} where ingested_at > {{ start }}
    {%- endif %}
    {%- set moved = lakehouse.absorbed_move_keys(columns) %}
    {%- if moved %}
    union
    {{ moved }}
    {%- endif %}
{%- endmacro %}

{#
    The months of the order versions a `changed` query returns (lakehouse.changed_keys with order_date): a
    key_list of dates, the first of each month. What the monthly aggregates and the KPIs rebuild.
#}
{% macro changed_months(changed) -%}
    {{ return(lakehouse.key_list(
        'select ' ~ lakehouse.month_start('order_date') ~ ' from (' ~ changed ~ ') as changed', 'date'
    )) }}
{%- endmacro %}

{#
    The order dates an incremental run must look at to find the versions its new ones replace: a predicate on
    `column` (an order_date). `versions` is a query of the window's new versions (columns order_date and
    ingested_at), `start` the window's start. A correction is found when the version it replaces is dated on one of
    the new versions' dates (a correction that keeps its date, however old), or within the correction horizon:
    from var('correction_horizon_days') before the window's start to a day after the newest version landed (silver
    takes an order_date up to a day after its landing). An older version a correction moves away from is outside:
    gold keeps it, as silver does, until silver's sweep removes it; the reconciliation with silver (every date's
    row counts) then names it and a build with var('absorb_moved_orders') absorbs it (macros/late_silver.sql,
    docs/decisions/0005-correction-horizon.md).
    Against the warehouse, with `start` a literal, the predicate is `column in (<dates>)`: literals that DuckDB's
    zone maps, Athena's partition projection and Iceberg's partition bounds can prune on; the same logic as SQL
    otherwise (unit tests, compile).
#}
{% macro correction_dates(column, versions, start) -%}
    {%- set horizon = lakehouse.correction_horizon_days() -%}
    {%- if not (execute and flags.INTROSPECT is not sameas false and model.resource_type in ['model', 'test']) -%}
        {{ return('(' ~ column ~ ' >= cast(' ~ dbt.dateadd('day', -1 * horizon, start) ~ ' as date) or ' ~ column
            ~ ' in (select order_date from (' ~ versions ~ ') as versions))') }}
    {%- endif -%}
    {%- set start_date = run_query('select cast(cast(' ~ start ~ ' as date) as varchar)').columns[0].values()[0] -%}
    {%- set day = modules.datetime.timedelta(days=1) -%}
    {%- set first = modules.datetime.date.fromisoformat(start_date[:10]) - horizon * day -%}
    {%- set dates = [] -%}
    {%- set last = namespace(value=first + (horizon + 1) * day) -%}
    {%- set rows = run_query(
        'select distinct cast(order_date as varchar), cast(cast(ingested_at as date) as varchar) from ('
        ~ versions ~ ') as versions'
    ) -%}
    {%- for order_date, landed in rows.rows -%}
        {%- if order_date -%}
            {%- do dates.append(order_date[:10]) -%}
        {%- endif -%}
        {%- if landed and modules.datetime.date.fromisoformat(landed[:10]) + day > last.value -%}
            {%- set last.value = modules.datetime.date.fromisoformat(landed[:10]) + day -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for offset in range((last.value - first).days + 1) -%}
        {%- do dates.append((first + offset * day).isoformat()) -%}
    {%- endfor -%}
    {{ return(lakehouse.date_in(column, dates)) }}
{%- endmacro %}

{# `column in (<dates>)`, the dates (ISO strings) as date literals, each once, in order; `1 = 0` for none. #}
{% macro date_in(column, dates) -%}
    {%- set literals = [] -%}
    {%- for value in dates | unique | sort -%}
        {%- do literals.append("cast('" ~ value ~ "' as date)") -%}
    {%- endfor -%}
    {{ return(column ~ ' in (' ~ literals | join(', ') ~ ')' if literals else '1 = 0') }}
{%- endmacro %}

{#
    The correction horizon in days: $DBT_CORRECTION_HORIZON_DAYS when set (the stack sets it from its
    CorrectionHorizonDays parameter: it follows the volume of the environment), var('correction_horizon_days')
    otherwise. A whole number of days from 0 to 3650, or the run stops with one line.
#}
{% macro correction_horizon_days() -%}
    {%- set value = (env_var('DBT_CORRECTION_HORIZON_DAYS', '') | trim) or (var('correction_horizon_days') | string) -%}
    {%- if not modules.re.fullmatch('[0-9]{1,4}', value) or value | int > 3650 -%}
        {%- do exceptions.raise_compiler_error(
            "the correction horizon is '" ~ value ~ "', not a whole number of days from 0 to 3650: set"
            ~ " DBT_CORRECTION_HORIZON_DAYS or var('correction_horizon_days') to one"
        ) -%}
    {%- endif -%}
    {{ return(value | int) }}
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
