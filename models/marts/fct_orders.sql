{{ config(partitioned_by=lakehouse.partition_by_month('order_date')) }}

-- One row per order, with its product category and its country region.
-- Incremental: the orders ingested since the watermark (minus the lookback) are merged on order_id, so a
-- correction replaces the version it corrects.
with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

changed as (

    select * from orders
    {% if is_incremental() %}
    where {{ lakehouse.is_recently_ingested('ingested_at', 'ingested_at') }}
    {%- endif %}

),

final as (

    select
        cast(order_id as varchar) as order_id,
        cast(order_date as date) as order_date,
        cast(order_month as date) as order_month,
        cast(customer_id as varchar) as customer_id,
        cast(country as varchar) as country,
        cast(country_name as varchar) as country_name,
        cast(region as varchar) as region,
        cast(product as varchar) as product,
        cast(product_name as varchar) as product_name,
        cast(category as varchar) as category,
        cast(quantity as bigint) as quantity,
        cast(unit_price as decimal(10, 2)) as unit_price,
        cast(revenue as decimal(12, 2)) as revenue,
        cast(source_file as varchar) as source_file,
        cast(ingested_at as {{ lakehouse.type_timestamp() }}) as ingested_at

    from changed

)

select * from final
