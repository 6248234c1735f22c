{{ config(lakehouse.merge_deleting_emptied_keys('order_count')) }}
-- depends_on: {{ ref('int_order_versions') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- set changed = lakehouse.changed_keys(['order_date', 'country', 'customer_id'], start) %}
{%- set changed_months = lakehouse.key_list(
    'select cast(' ~ dbt.date_trunc('month', 'order_date') ~ ' as date) from (' ~ changed ~ ') as changed', 'date'
) %}
{#- The earliest first order date (after this run's merges, in dim_customers) of the changed customers whose first
    order is in a changed month: none of their months is older. A one-value key_list: a literal, or the subquery. -#}
{%- set earliest_first_date = lakehouse.key_list(
    'select min(first_order_date) from ' ~ ref('dim_customers')
    ~ ' where customer_id in (select customer_id from (' ~ changed ~ ') as changed)'
    ~ ' and cast(' ~ dbt.date_trunc('month', 'first_order_date') ~ ' as date) in ' ~ changed_months,
    'date',
) %}
{#- The months to recompute: those of the changed versions, new and replaced; and, for each changed customer, the
    month of their first order outside those months (their first order if it is outside, else the first of their
    other months, all later than it) when a changed version is dated on or before it: the customer may have
    been, or become, new there (a late order, a moved first order). -#}
{%- set affected_months = lakehouse.key_list(
    'select order_month from (select cast(' ~ dbt.date_trunc('month', 'order_date') ~ ' as date) as order_month'
    ~ ' from (' ~ changed ~ ') as changed) as changed_months'
    ~ ' union select cast(' ~ dbt.date_trunc('month', 'untouched.first_date') ~ ' as date)'
    ~ ' from (select customers.customer_id, case when cast(' ~ dbt.date_trunc('month', 'customers.first_order_date')
    ~ ' as date) in ' ~ changed_months ~ ' then earlier.first_date else customers.first_order_date end as first_date'
    ~ ' from ' ~ ref('dim_customers') ~ ' as customers'
    ~ ' left join (select customer_id, min(first_order_date) as first_date from ' ~ ref('int_customer_months')
    ~ ' where order_month >= ' ~ earliest_first_date ~ ' and order_month not in ' ~ changed_months
    ~ ' group by customer_id) as earlier on customers.customer_id = earlier.customer_id'
    ~ ' where customers.customer_id in (select customer_id from (' ~ changed ~ ') as changed)) as untouched'
    ~ ' inner join (select customer_id, min(order_date) as first_date from (' ~ changed ~ ') as changed'
    ~ ' group by customer_id) as changed_first on untouched.customer_id = changed_first.customer_id'
    ~ ' where changed_first.first_date <= untouched.first_date',
    'date',
) %}
{%- endif %}
{#- The first order dates on which a customer ordered in several countries (of the months recomputed): there, and
    only there, fct_orders is read, for the smallest order_id that breaks the tie. Literals on an incremental run;
    the subquery on a full refresh, which reads everything anyway (and may render before the tables exist). -#}
{%- set tied_first_dates_query = 'select customers.first_order_date from ' ~ ref('int_customer_months')
    ~ ' as customer_months inner join ' ~ ref('dim_customers') ~ ' as customers'
    ~ ' on customer_months.customer_id = customers.customer_id'
    ~ ' and customer_months.first_order_date = customers.first_order_date'
    ~ (' where customer_months.order_month in ' ~ affected_months if is_incremental() else '')
    ~ ' group by customers.customer_id, customers.first_order_date having count(*) > 1' %}
{%- set tied_first_dates = lakehouse.key_list(tied_first_dates_query, 'date') if is_incremental()
    else '(' ~ tied_first_dates_query ~ ')' %}

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
