{#
    Values outside [min_value, max_value] (or the open interval with inclusive=false) fail; nulls are ignored
    (pair with not_null). Either bound may be omitted.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error("accepted_range on " ~ column_name ~ ": give min_value or max_value") }}
    {%- endif -%}
    {%- set lower_op = '>=' if inclusive else '>' -%}
    {%- set upper_op = '<=' if inclusive else '<' -%}

    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and not (
            1 = 1
            {%- if min_value is not none %}
                and {{ column_name }} {{ lower_op }} {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
                and {{ column_name }} {{ upper_op }} {{ max_value }}
            {%- endif %}
        )

{% endtest %}
