{#
    Iceberg upkeep, run after every gold build (the pipeline's upkeep stage: dbt run-operation iceberg_upkeep).
    Athena's MERGE writes new data files (and delete files) and every build adds a snapshot: without upkeep a
    table's reads slow down as its small files pile up, and S3 keeps every file any snapshot ever named.
    For each incremental Iceberg model that exists:
      1. the snapshot retention as a table property (vacuum_max_snapshot_age_seconds), so VACUUM knows what to keep
         (time travel reaches that far back, no further);
      2. OPTIMIZE ... REWRITE DATA USING BIN_PACK on the recent partitions only (from the first day of the month
         var('lookback_days') before `today`, the months an incremental build rewrites): the history's files are
         compacted already, so a run's cost follows the new data; an unpartitioned (small) table whole;
      3. VACUUM: expires the snapshots older than the retention and deletes the files no snapshot names.
    Only Iceberg tables take OPTIMIZE and VACUUM on Athena: other models are skipped.
#}
{% macro iceberg_upkeep(today=none, retention_days=none) -%}
    {{ return(adapter.dispatch('iceberg_upkeep', 'lakehouse')(today, retention_days)) }}
{%- endmacro %}

{% macro default__iceberg_upkeep(today, retention_days) -%}
    {% do log('iceberg_upkeep: nothing to do on ' ~ target.type ~ ' (Iceberg tables are Athena only)', info=true) %}
{%- endmacro %}

{% macro athena__iceberg_upkeep(today, retention_days) -%}
    {%- set day = modules.datetime.date.fromisoformat(today) if today else modules.datetime.date.today() -%}
    {%- set since = (day - modules.datetime.timedelta(days=var('lookback_days') | int)).replace(day=1) -%}
    {%- set days = retention_days if retention_days is not none else var('iceberg_snapshot_retention_days') -%}
    {%- set retention_seconds = (days | float * 86400) | int -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id')
        if node.resource_type == 'model' and node.config.materialized == 'incremental'
        and (node.config.get('table_type') or '') | lower == 'iceberg' -%}
        {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- if relation is none -%}
            {% do log('iceberg_upkeep: ' ~ node.name ~ ' is not built yet, skipped', info=true) %}
        {%- else -%}
            {%- set name = relation.schema ~ '.' ~ relation.identifier -%}
            {% do run_query("alter table " ~ name ~ " set tblproperties ('vacuum_max_snapshot_age_seconds'='"
                ~ retention_seconds ~ "')") %}
            {% do run_query('optimize ' ~ name ~ ' rewrite data using bin_pack'
                ~ lakehouse.recent_partitions(node.config.get('partitioned_by'), since)) %}
            {% do run_query('vacuum ' ~ name) %}
            {% do log('iceberg_upkeep: ' ~ name ~ ' compacted since ' ~ since ~ ', vacuumed (retention '
                ~ retention_seconds ~ ' s)', info=true) %}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#
    The WHERE clause of OPTIMIZE for a partitioned_by list such as ['month(order_date)']: the partition source
    column from `since` on (partitions are date transforms of date columns here); empty when unpartitioned.
#}
{% macro recent_partitions(partitioned_by, since) -%}
    {%- set columns = [] -%}
    {%- for spec in partitioned_by or [] -%}
        {%- do columns.append(modules.re.sub('^[a-z_]+\\((.*)\\)$', '\\1', spec | trim)) -%}
    {%- endfor -%}
    {%- set conditions = [] -%}
    {%- for column in columns | unique -%}
        {%- do conditions.append(column ~ " >= date '" ~ since ~ "'") -%}
    {%- endfor -%}
    {{ return(' where ' ~ conditions | join(' and ') if conditions else '') }}
{%- endmacro %}
