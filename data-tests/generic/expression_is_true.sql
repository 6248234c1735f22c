{#
    Rows where `expression` is not true fail the test (a null counts as a failure).
    Used on a model: expression over its columns; on a column: the column is prepended, e.g. "> 0".
#}
{% test expression_is_true(model, expression, column_name=none, where=none) %}

    {%- set predicate = (column_name ~ ' ' ~ expression) if column_name else expression -%}

    select *
    from {{ model }}
    where
        not coalesce({{ predicate }}, false)
        {%- if where %}
            and ({{ where }})
        {%- endif %}

{% endtest %}
