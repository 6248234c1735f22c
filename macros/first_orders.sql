{#
    The new-customer logic of fct_country_monthly_kpis, which rolls up int_customer_months
    (docs/decisions/0009-mart-aggregates.md). A customer is new in the month and country of their first order:
    earliest order_date (dim_customers' first_order_date), then smallest order_id.
#}

{#
    The months an incremental run of the KPIs rebuilds, as a key_list of dates: the months of the `changed` versions
    (a changed_keys query with order_date and customer_id), new and replaced; and, for each changed customer, the
    month of U, their first order date outside those months, when a changed version is dated on or before U: the
    customer may have been, or become, new there (a late order, a moved first order). U is their first order in
    dim_customers (after this run's merges) if it is outside the changed months; otherwise the earliest first date
    of their other months in int_customer_months, all later than it, so that read starts at the earliest such first
    order (a literal) and does not reach back into the history.
#}
{% macro kpi_months(changed) -%}
    {%- set changed_months = lakehouse.changed_months(changed) -%}
    {#- one value: a parenthesised literal (or the subquery), compared with >= -#}
    {%- set earliest_first_date = lakehouse.key_list(
        'select min(first_order_date) from ' ~ ref('dim_customers')
        ~ ' where customer_id in (select customer_id from (' ~ changed ~ ') as changed)'
        ~ ' and ' ~ lakehouse.month_start('first_order_date') ~ ' in ' ~ changed_months,
        'date',
    ) -%}
    {%- set query -%}
        select {{ lakehouse.month_start('order_date') }} from ({{ changed }}) as changed
        union
        select {{ lakehouse.month_start('untouched.first_date') }}
        from (
            select
                customers.customer_id,
                case
                    when {{ lakehouse.month_start('customers.first_order_date') }} in {{ changed_months }}
                        then earlier.first_date
                    else customers.first_order_date
                end as first_date
            from {{ ref('dim_customers') }} as customers
            left join (
                select customer_id, min(first_order_date) as first_date
                from {{ ref('int_customer_months') }}
                where order_month >= {{ earliest_first_date }} and order_month not in {{ changed_months }}
                group by customer_id
            ) as earlier on customers.customer_id = earlier.customer_id
            where customers.customer_id in (select customer_id from ({{ changed }}) as changed)
        ) as untouched
        inner join (
            select customer_id, min(order_date) as first_date from ({{ changed }}) as changed group by customer_id
        ) as changed_first on untouched.customer_id = changed_first.customer_id
        where changed_first.first_date <= untouched.first_date
    {%- endset -%}
    {{ return(lakehouse.key_list(query, 'date')) }}
{%- endmacro %}

{#
    The first order dates on which a customer ordered in several countries, among the rows of int_customer_months
    in `months` (a key_list; none: every month): there, and only there, the KPIs read fct_orders for the smallest
    order_id, which breaks the tie. Literals on an incremental run (`months` given); the subquery on a full refresh,
    which reads everything anyway and may render before the tables exist.
#}
{% macro tied_first_dates(months=none) -%}
    {%- set query -%}
        select customers.first_order_date
        from {{ ref('int_customer_months') }} as customer_months
        inner join {{ ref('dim_customers') }} as customers
            on
                customer_months.customer_id = customers.customer_id
                and customer_months.first_order_date = customers.first_order_date
        {% if months is not none -%}
        where customer_months.order_month in {{ months }}
        {%- endif %}
        group by customers.customer_id, customers.first_order_date
        having count(*) > 1
    {%- endset -%}
    {{ return(lakehouse.key_list(query, 'date') if months is not none else '(' ~ query ~ ')') }}
{%- endmacro %}
