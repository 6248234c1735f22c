{#
    The merges of the incremental marts, on both engines.

    1. Deleting a key no order holds any more. A correction can move the last order out of a grain (an order date,
       a month x country, a customer): the model emits that key with `<count_column> = 0` and the merge deletes the
       row instead of updating it; such a row is never inserted. dbt-duckdb spells it merge_clauses, dbt-athena
       delete_condition / insert_condition.

    2. Pruning the merge's scan of the target. A merge reads the target's join keys to match the new rows; without a
       filter on the target, that is the whole key column (fct_orders: every order_id). dbt takes
       incremental_predicates from the model's config, fixed when the project is parsed (dbt-core issue 6658), but
       the values that bound the target (the order dates the run touches) are known only at run time. So a model
       computes them while it renders (prune_merge_target, literals from run_query) and the two merge builders,
       dbt's get_incremental_merge_sql (dbt-duckdb) and dbt-athena's iceberg_merge, overridden here, add them to the
       merge's ON clause: `<target>.order_date in (date '...', ...)`, which DuckDB's zone maps and Athena's
       partition and file bounds use. A model that records none merges as before.
#}

{#
    Model config (a dict for config()): the merge deletes a matched row whose new version has `count_column` = 0,
    and inserts only rows with `count_column` > 0.
#}
{% macro merge_deleting_emptied_keys(count_column) -%}
    {{ return(adapter.dispatch('merge_deleting_emptied_keys', 'lakehouse')(count_column)) }}
{%- endmacro %}

{% macro default__merge_deleting_emptied_keys(count_column) -%}
    {{ return({
        'delete_condition': 'src.' ~ count_column ~ ' = 0',
        'insert_condition': 'src.' ~ count_column ~ ' > 0',
    }) }}
{%- endmacro %}

{% macro duckdb__merge_deleting_emptied_keys(count_column) -%}
    {{ return({'merge_clauses': {
        'when_matched': [
            {'action': 'delete', 'condition': 'DBT_INTERNAL_SOURCE.' ~ count_column ~ ' = 0'},
            {'action': 'update', 'mode': 'by_name'},
        ],
        'when_not_matched': [
            {'action': 'insert', 'mode': 'by_name', 'condition': 'DBT_INTERNAL_SOURCE.' ~ count_column ~ ' > 0'},
        ],
    }}) }}
{%- endmacro %}

{#
    Called while a model renders its incremental SQL: the target rows its merge can match all have `column` in
    `keys` (a key_list), so the merge may skip the others. Recorded for this invocation (in `graph`, the one object
    every node of an invocation shares) when `keys` are literals; nothing otherwise (unit tests, compile).
#}
{% macro prune_merge_target(column, keys) -%}
    {%- if lakehouse.reads_warehouse() -%}
        {%- set filters = graph.get('lakehouse_merge_target_filters') -%}
        {%- if filters is none -%}
            {%- set filters = {} -%}
            {%- do graph.update({'lakehouse_merge_target_filters': filters}) -%}
        {%- endif -%}
        {%- do filters.update({model.unique_id: {'column': column, 'keys': keys}}) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{# The merge's incremental_predicates plus the running model's recorded target filter, on the target `alias`. #}
{% macro merge_target_predicates(predicates, alias) -%}
    {%- set recorded = (graph.get('lakehouse_merge_target_filters') or {}).get(model.unique_id) -%}
    {%- if recorded is none -%}
        {{ return(predicates) }}
    {%- endif -%}
    {{ return((predicates or []) + [alias ~ '.' ~ recorded['column'] ~ ' in ' ~ recorded['keys']]) }}
{%- endmacro %}

{# dbt-duckdb's merge (dbt's strategy macro, found in the root project first): with the recorded target filter. #}
{% macro get_incremental_merge_sql(arg_dict) -%}
    {%- do arg_dict.update({'incremental_predicates': lakehouse.merge_target_predicates(
        arg_dict.get('incremental_predicates'), 'DBT_INTERNAL_DEST'
    )}) -%}
    {{ return(adapter.dispatch('get_incremental_merge_sql', 'dbt')(arg_dict)) }}
{%- endmacro %}

{# dbt-athena's Iceberg merge, called by its incremental materialization: with the recorded target filter. #}
{% macro iceberg_merge(
    on_schema_change,
    tmp_relation,
    target_relation,
    unique_key,
    incremental_predicates,
    existing_relation,
    delete_condition,
    update_condition,
    insert_condition,
    force_batch,
    statement_name='main'
) -%}
    {{ return(dbt.iceberg_merge(
        on_schema_change,
        tmp_relation,
        target_relation,
        unique_key,
        lakehouse.merge_target_predicates(incremental_predicates, 'target'),
        existing_relation,
        delete_condition,
        update_condition,
        insert_condition,
        force_batch,
        statement_name,
    )) }}
{%- endmacro %}

{#
    The rows an incremental mart merges: `computed` (a CTE with the mart's `columns`, in order), plus each key of
    `candidates` (a CTE of the keys the run touched) that `computed` has no row for, with `count_column` = 0 and
    the other columns null: a key the corrections emptied, which the merge deletes (merge_deleting_emptied_keys).
#}
{% macro with_emptied_keys(computed, candidates, keys, columns, count_column='order_count') -%}
    select * from {{ computed }}
    union all
    select
        {%- for column in columns %}
        {% if column in keys -%}
            {{ candidates }}.{{ column }}
        {%- elif column == count_column -%}
            0 as {{ column }}
        {%- else -%}
            null as {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ candidates }}
    left join {{ computed }}
        on
            {%- for key in keys %}
            {{ 'and ' if not loop.first }}{{ candidates }}.{{ key }} = {{ computed }}.{{ key }}
            {%- endfor %}
    where {{ computed }}.{{ keys[0] }} is null
{%- endmacro %}
