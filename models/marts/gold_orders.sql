{{ config(partitioned_by=lakehouse.partition_by_month('order_date')) }}

-- Sales per order date, country and product: the table the dashboard reads.
-- Incremental: every order date touched by a recently ingested order (new, late or corrected) is recomputed
-- whole from fct_orders, and merged on (order_date, country, product).
with

orders as (

    select * from {{ ref('fct_orders') }}

),

{% if is_incremental() %}
affected_dates as (

    select distinct order_date
    from orders
    where {{ lakehouse.is_recently_ingested('ingested_at') }}

),
{% endif %}

scoped as (

    select * from orders
    {% if is_incremental() %}
    where order_date in (select affected_dates.order_date from affected_dates)
    {%- endif %}

),

aggregated as (

    select
        order_date,
        country,
        product,
        sum(quantity) as total_quantity,
        sum(revenue) as total_revenue,
        count(distinct order_id) as order_count,
        max(ingested_at) as last_ingested_at

    from scoped
    group by order_date, country, product

),

final as (

    select
        cast(order_date as date) as order_date,
        cast(country as varchar) as country,
        cast(product as varchar) as product,
        cast(total_quantity as bigint) as total_quantity,
        cast(total_revenue as decimal(18, 2)) as total_revenue,
        cast(order_count as bigint) as order_count,
        cast(last_ingested_at as {{ lakehouse.type_timestamp() }}) as last_ingested_at

    from aggregated

)

select * from final
