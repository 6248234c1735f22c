{#
    Where each layer lands.
    local  (duckdb): the custom schema as-is: gold.gold_orders, staging.stg_orders, reference.countries.
    athena         : one Glue database per layer and environment, lakehouse_<env>_<schema>
                     (lakehouse_prod_gold), and in dev with the developer's prefix
                     (lakehouse_dev_<prefix>_gold) so two developers never overwrite each other; a dev
                     build without DBT_DEV_PREFIX fails unless DBT_DEV_SHARED=true (CI's main build).
    No custom schema: the target's schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ return(adapter.dispatch('generate_schema_name', 'lakehouse')(custom_schema_name, node)) }}
{%- endmacro %}

{% macro default__generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim | lower }}
    {%- endif -%}
{%- endmacro %}

{% macro athena__generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ lakehouse.athena_database(custom_schema_name) }}
    {%- endif -%}
{%- endmacro %}

{% macro athena_database(layer) -%}
    {%- set env = env_var('DBT_ENV', 'dev') | trim | lower -%}
    {%- if env not in ['dev', 'prod'] -%}
        {{ exceptions.raise_compiler_error("DBT_ENV must be dev or prod, not '" ~ env ~ "'") }}
    {%- endif -%}
    {%- set parts = [env_var('DBT_PROJECT_PREFIX', 'lakehouse') | trim | lower, env] -%}
    {%- set prefix = env_var('DBT_DEV_PREFIX', '') | trim | lower -%}
    {#- A human's dev build never lands in the shared dev databases by default (CI's main build and the pipeline
        build there): it needs a prefix of its own, unless DBT_DEV_SHARED=true says it is one of those. Reading
        (parse, compile, docs, show, test) needs neither. -#}
    {%- set shared = env_var('DBT_DEV_SHARED', '') | trim | lower in ['true', '1', 'yes'] -%}
    {%- if env == 'dev' and not prefix and not shared and flags.WHICH in ['build', 'run', 'seed', 'snapshot', 'run-operation'] -%}
        {{ exceptions.raise_compiler_error("DBT_DEV_PREFIX is not set: a dev build on Athena needs databases of its own; export DBT_DEV_PREFIX=<your name> (CI's main build and the pipeline set DBT_DEV_SHARED=true instead)") }}
    {%- endif -%}
    {%- if env == 'dev' and prefix -%}
        {%- do parts.append(modules.re.sub('[^a-z0-9_]', '_', prefix)) -%}
    {%- endif -%}
    {%- do parts.append(layer | trim | lower) -%}
    {{ parts | join('_') }}
{%- endmacro %}
