{{ config(lakehouse.merge_deleting_emptied_keys('order_count')) }}
-- depends_on: {{ ref('int_order_versions') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- set changed = lakehouse.changed_keys(['order_date', 'country', 'customer_id'], start) %}
{#- The months to recompute: those of the changed versions, new and replaced; and where an affected customer was
    new until now, when one of their changed versions is dated on or before it (a late order, a moved first order) -#}
{%- set affected_months = lakehouse.key_list(
    'select cast(' ~ dbt.date_trunc('month', 'order_date') ~ ' as date) from (' ~ changed ~ ') as changed'
    ~ ' union select cast(' ~ dbt.date_trunc('month', 'untouched.first_date') ~ ' as date)'
    ~ ' from (select customer_id, min(case when ingested_at <= ' ~ start ~ ' then order_date end) as first_date'
    ~ ' from ' ~ ref('fct_orders')
    ~ ' where customer_id in (select customer_id from (' ~ changed ~ ') as changed) group by customer_id)'
    ~ ' as untouched'
    ~ ' inner join (select customer_id, min(order_date) as first_date from (' ~ changed ~ ') as changed'
    ~ ' group by customer_id) as changed_first on untouched.customer_id = changed_first.customer_id'
    ~ ' where changed_first.first_date <= untouched.first_date',
    'date',
) %}
{%- endif %}

-- Per month and country: revenue, orders, average order value, active customers and new customers.
-- A new customer counts in the month and country of their first order (earliest order_date, then order_id).
-- Incremental: the months of the new and replaced order versions, and of affected customers' previous first
-- orders, are rebuilt from the whole history; a month x country left without orders gets order_count = 0 (deleted).
with

orders as (

    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where order_month in {{ affected_months }}
    {%- endif %}

),

customer_order_dates as (

    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where customer_id in (select orders.customer_id from orders)
    {%- endif %}

),

first_day_orders as (

    select * from {{ ref('fct_orders') }}

),

customer_first_dates as (

    select
        customer_id,
        min(order_date) as first_order_date

    from customer_order_dates
    group by customer_id

),

-- the first order of each customer active in the recomputed months: on their first day, the smallest order_id
customer_first_orders as (

    select
        first_day_orders.customer_id,
        {{ lakehouse.min_by('first_day_orders.order_month', 'first_day_orders.order_id') }} as order_month,
        {{ lakehouse.min_by('first_day_orders.country', 'first_day_orders.order_id') }} as country

    from first_day_orders
    inner join customer_first_dates
        on
            first_day_orders.customer_id = customer_first_dates.customer_id
            and first_day_orders.order_date = customer_first_dates.first_order_date
    group by first_day_orders.customer_id

),

new_customers as (

    select
        order_month,
        country,
        count(*) as new_customers

    from customer_first_orders
    group by order_month, country

),

monthly as (

    select
        order_month,
        country,
        max(region) as region,
        sum(revenue) as revenue,
        count(*) as order_count,
        count(distinct customer_id) as active_customers,
        max(ingested_at) as last_ingested_at

    from orders
    group by order_month, country

),

kpis as (

    select
        monthly.order_month,
        monthly.country,
        monthly.region,
        -- sum() widens money to decimal(38, 2) on both engines
        cast(monthly.revenue as decimal(18, 2)) as revenue,
        monthly.order_count,
        -- divide_money returns decimal(38, 2), wider than the contract
        cast(
            {{ lakehouse.divide_money('monthly.revenue', 'monthly.order_count') }} as decimal(18, 2)
        ) as avg_order_value,
        monthly.active_customers,
        coalesce(new_customers.new_customers, 0) as new_customers,
        monthly.last_ingested_at

    from monthly
    left join new_customers
        on
            monthly.order_month = new_customers.order_month
            and monthly.country = new_customers.country

),

{% if is_incremental() %}
changed_grains as (

    select distinct
        -- DuckDB's date_trunc returns a timestamp, even of a date
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as order_month,
        country

    from ({{ changed }}) as changed

),
{% endif %}

-- the typed rows of kpis, and on an incremental run the emptied months x countries (their columns typed by kpis)
final as (

    {% if is_incremental() -%}
    {{ lakehouse.with_emptied_keys(
        'kpis',
        'changed_grains',
        ['order_month', 'country'],
        [
            'order_month', 'country', 'region', 'revenue', 'order_count', 'avg_order_value', 'active_customers',
            'new_customers', 'last_ingested_at',
        ],
    ) }}
    {%- else -%}
    select * from kpis
    {%- endif %}

)

select * from final
