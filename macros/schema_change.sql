{#- An incremental model whose columns changed since it was built: dbt's own message is twenty lines and
    suggests append_new_columns, which this project forbids (old rows would lack the column). One line instead,
    with the command that fixes it. Other on_schema_change values keep dbt's behaviour. -#}
{% macro default__process_schema_changes(on_schema_change, source_relation, target_relation) %}
    {%- if on_schema_change != 'fail' -%}
        {{ return(dbt.default__process_schema_changes(on_schema_change, source_relation, target_relation)) }}
    {%- endif -%}
    {%- set changes = check_for_schema_changes(source_relation, target_relation) -%}
    {%- if changes['schema_changed'] -%}
        {{ exceptions.raise_compiler_error(schema_change_message(model.name, changes)) }}
    {%- endif -%}
    {{ return(changes['source_columns']) }}
{% endmacro %}


{% macro schema_change_message(model_name, changes) %}
    {%- set parts = [] -%}
    {%- set added = changes['source_not_in_target'] | map(attribute='name') | list -%}
    {%- set removed = changes['target_not_in_source'] | map(attribute='name') | list -%}
    {%- set retyped = changes['new_target_types'] | map(attribute='column_name') | list -%}
    {%- if added %}{% do parts.append('added: ' ~ added | join(', ')) %}{% endif -%}
    {%- if removed %}{% do parts.append('removed: ' ~ removed | join(', ')) %}{% endif -%}
    {%- if retyped %}{% do parts.append('retyped: ' ~ retyped | join(', ')) %}{% endif -%}
    {{- return(
        model_name ~ ': its columns changed since it was built (' ~ parts | join('; ')
        ~ '); an incremental build would leave the old rows without them: rebuild it and what depends on it with'
        ~ ' dbt build -s ' ~ model_name ~ '+ --full-refresh'
    ) -}}
{% endmacro %}
