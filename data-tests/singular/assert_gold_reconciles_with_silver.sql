-- Reconciliation: gold must hold exactly what silver holds. Each failing row names the check, the key and both
-- sides. gold_orders is checked per order_date against silver directly (not through dbt's own models), the other
-- marts against the silver grand totals.
-- Always whole, also on incremental builds (macros/test_window.sql): it is the check that sees outside the
-- windows, e.g. an order date a merge should have rewritten and did not, or a silver file older than the lookback.
-- It reads silver once (the totals are the sums of the daily figures), and only numeric columns. When silver holds
-- orders that landed before gold's lookback window, it stops first with one line naming their files and the fix
-- (macros/late_silver.sql), not dbt's bare count of failing rows.
{{ lakehouse.fail_on_late_silver() }}
with

silver as (

    select * from {{ source('silver', 'silver_orders') }}

),

gold_orders as (

    select * from {{ ref('gold_orders') }}

),

fct_orders as (

    select * from {{ ref('fct_orders') }}

),

dim_customers as (

    select * from {{ ref('dim_customers') }}

),

dim_products as (

    select * from {{ ref('dim_products') }}

),

kpis as (

    select * from {{ ref('fct_country_monthly_kpis') }}

),

silver_daily as (

    select
        cast(order_date as date) as order_date,
        sum(cast(quantity as bigint)) as total_quantity,
        sum(cast(revenue as decimal(18, 2))) as total_revenue,
        count(*) as order_count

    from silver
    group by cast(order_date as date)

),

gold_daily as (

    select
        order_date,
        sum(total_quantity) as total_quantity,
        sum(total_revenue) as total_revenue,
        sum(order_count) as order_count

    from gold_orders
    group by order_date

),

daily_mismatches as (

    select
        'gold_orders per order_date' as check_name,
        cast(coalesce(silver_daily.order_date, gold_daily.order_date) as varchar) as check_key,
        cast(silver_daily.total_revenue as varchar) as silver_value,
        cast(gold_daily.total_revenue as varchar) as gold_value

    from silver_daily
    full outer join gold_daily on silver_daily.order_date = gold_daily.order_date
    where
        silver_daily.order_date is null
        or gold_daily.order_date is null
        or silver_daily.total_quantity <> gold_daily.total_quantity
        or silver_daily.total_revenue <> gold_daily.total_revenue
        or silver_daily.order_count <> gold_daily.order_count

),

silver_totals as (

    select
        coalesce(sum(order_count), 0) as order_count,
        sum(total_revenue) as total_revenue,
        sum(total_quantity) as total_quantity

    from silver_daily

),

mart_totals as (

    select
        'fct_orders' as mart,
        count(*) as order_count,
        sum(revenue) as total_revenue,
        sum(quantity) as total_quantity
    from fct_orders

    union all

    select
        'dim_customers' as mart,
        sum(order_count) as order_count,
        sum(lifetime_revenue) as total_revenue,
        null as total_quantity
    from dim_customers

    union all

    select
        'dim_products' as mart,
        sum(order_count) as order_count,
        sum(total_revenue) as total_revenue,
        sum(total_quantity) as total_quantity
    from dim_products

    union all

    select
        'fct_country_monthly_kpis' as mart,
        sum(order_count) as order_count,
        sum(revenue) as total_revenue,
        null as total_quantity
    from kpis

),

total_mismatches as (

    select
        mart_totals.mart as check_name,
        'all orders' as check_key,
        cast(silver_totals.total_revenue as varchar) as silver_value,
        cast(mart_totals.total_revenue as varchar) as gold_value

    from mart_totals
    cross join silver_totals
    where
        coalesce(mart_totals.order_count, 0) <> silver_totals.order_count
        or coalesce(mart_totals.total_revenue, 0) <> coalesce(silver_totals.total_revenue, 0)
        or coalesce(mart_totals.total_quantity, silver_totals.total_quantity, 0)
        <> coalesce(silver_totals.total_quantity, 0)

)

select * from daily_mismatches
union all
select * from total_mismatches
