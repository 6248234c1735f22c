{#
    A failed --full-refresh must leave the previous mart readable (docs/runbook.md, "Gold rollback").
    dbt-athena 1.11.1 rebuilds an existing Iceberg table as <model>__dbt_tmp (incremental) or <model>__ha (table)
    and renames it into place only once it exists. Its incremental materialization picks that branch on
    `'unique' not in s3_data_naming or external_location is not none`, true today only because `external_location`
    is a name the macro never sets; its other branch drops the live table first. This override of dbt's
    drop_relation (the root project's athena__ macro wins the dispatch) refuses that drop, whichever release
    takes the branch: a table or incremental model may drop the relation it is building only once that relation
    is not a table (a view it replaces). Temporary and backup relations (__dbt_tmp, __ha, __bkp) drop as before.
#}
{% macro athena__drop_relation(relation) -%}
    {%- if this is defined and model is defined and model.resource_type == 'model'
        and config.get('materialized') in ['table', 'incremental']
        and relation.type == 'table'
        and relation.schema == this.schema and relation.identifier == this.identifier -%}
        {%- do exceptions.raise_compiler_error(
            "refusing to drop " ~ relation ~ " before its rebuild exists: dbt-athena took its drop-first branch;"
            ~ " the previous table stays, see docs/runbook.md (Gold rollback)"
        ) -%}
    {%- endif -%}
    {{ return(dbt.athena__drop_relation(relation)) }}
{%- endmacro %}
