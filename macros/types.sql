{#
    Types and arithmetic that must give the same answer on DuckDB and Athena (Trino).

    type_timestamp: microseconds on both engines. Trino's bare `timestamp` is timestamp(3) (a cast rounds to
    milliseconds), DuckDB's is microseconds, and Iceberg stores microseconds (dbt-athena itself casts Iceberg
    timestamps to timestamp(6)): say timestamp(6) on Athena.

    month_start: the first day of `column`'s month, as a date. DuckDB's date_trunc returns a timestamp, even of a
    date; Trino's returns a date.

    divide_money: numerator / denominator as decimal(38, scale), rounded half up (away from zero). Trino divides
    a decimal by an integer exactly and rounds half up; DuckDB's `/` on a decimal goes through DOUBLE
    (77714.29 / 2 = 38857.145 becomes 38857.14). On DuckDB the division is done on integers of the smallest
    unit (cents for scale 2).
#}
{% macro type_timestamp() -%}
    {{ return(adapter.dispatch('type_timestamp', 'lakehouse')()) }}
{%- endmacro %}

{% macro default__type_timestamp() -%}
    timestamp
{%- endmacro %}

{% macro athena__type_timestamp() -%}
    timestamp(6)
{%- endmacro %}

{% macro divide_money(numerator, denominator, scale=2) -%}
    {{ return(adapter.dispatch('divide_money', 'lakehouse')(numerator, denominator, scale)) }}
{%- endmacro %}

{% macro default__divide_money(numerator, denominator, scale=2) -%}
    cast({{ numerator }} as decimal(38, {{ scale }})) / {{ denominator }}
{%- endmacro %}

{% macro duckdb__divide_money(numerator, denominator, scale=2) -%}
    {#- integers of the smallest unit; divide() is DuckDB's integer division (`//`), written so the Athena-dialect
        linter reads it. bigint holds 2 x any decimal(18, 2) amount in cents. -#}
    {%- set units = 'cast((' ~ numerator ~ ') * ' ~ (10 ** scale) ~ ' as bigint)' -%}
    {%- set count = 'cast(' ~ denominator ~ ' as bigint)' -%}
    cast(
        sign({{ units }}) * sign({{ count }})
        * divide(2 * abs({{ units }}) + abs({{ count }}), 2 * abs({{ count }}))
        as decimal(36, 0)
    ) * cast('{{ "%.*f" | format(scale, 10 ** (-scale)) }}' as decimal({{ scale }}, {{ scale }}))
{%- endmacro %}

{% macro month_start(column) -%}
    {{ return('cast(' ~ dbt.date_trunc('month', column) ~ ' as date)') }}
{%- endmacro %}
