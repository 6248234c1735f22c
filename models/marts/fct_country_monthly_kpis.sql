{{ config(lakehouse.merge_deleting_emptied_keys('order_count')) }}
-- depends_on: {{ ref('int_order_versions') }}
{#- The months rebuilt, and the first days where a customer ordered in several countries: macros/first_orders.sql -#}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- set changed = lakehouse.changed_keys(['order_date', 'country', 'customer_id'], start) %}
{%- set affected_months = lakehouse.kpi_months(changed) %}
{%- endif %}
{%- set tied_first_dates = lakehouse.tied_first_dates(affected_months if is_incremental() else none) %}

-- Per month and country: revenue, orders, average order value, active customers and new customers, rolled up from
-- the customers' months (int_customer_months).
-- A new customer counts in the month and country of their first order (earliest order_date, then order_id): the
-- month and country where they ordered on their first order date (dim_customers), and where that was in several
-- countries, the one of their smallest order_id that day (fct_orders, on those dates only).
-- Incremental: the months of the new and replaced order versions, and of affected customers' previous first
-- orders, are rebuilt from the customers' months; a month x country left without orders gets order_count = 0
-- (deleted).
with

customer_months as (

    select * from {{ ref('int_customer_months') }}
    {% if is_incremental() %}
    where order_month in {{ affected_months }}
    {%- endif %}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

tie_orders as (

    select * from {{ ref('fct_orders') }}
    where order_date in {{ tied_first_dates }}

),

-- the month and country of each customer active in the recomputed months where they ordered on their first day
first_days as (

    select
        customer_months.customer_id,
        customer_months.order_month,
        customer_months.country

    from customer_months
    inner join customers
        on
            customer_months.customer_id = customers.customer_id
            and customer_months.first_order_date = customers.first_order_date

),

tied_customers as (

    select customer_id
    from first_days
    group by customer_id
    having count(*) > 1

),

-- a customer who ordered in several countries on their first day: the country of their smallest order_id that day
tie_breaks as (

    select
        tie_orders.customer_id,
        {{ lakehouse.min_by('tie_orders.order_month', 'tie_orders.order_id') }} as order_month,
        {{ lakehouse.min_by('tie_orders.country', 'tie_orders.order_id') }} as country

    from tie_orders
    inner join customers
        on
            tie_orders.customer_id = customers.customer_id
            and tie_orders.order_date = customers.first_order_date
    where tie_orders.customer_id in (select tied_customers.customer_id from tied_customers)
    group by tie_orders.customer_id

),

customer_first_orders as (

    select
        customer_id,
        order_month,
        country

    from first_days
    where customer_id not in (select tied_customers.customer_id from tied_customers)

    union all

    select
        customer_id,
        order_month,
        country

    from tie_breaks

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
        -- sum() widens: DuckDB sums a bigint to hugeint
        cast(sum(order_count) as bigint) as order_count,
        -- a row per customer, month and country
        count(*) as active_customers,
        max(last_ingested_at) as last_ingested_at

    from customer_months
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
        {{ lakehouse.month_start('order_date') }} as order_month,
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
