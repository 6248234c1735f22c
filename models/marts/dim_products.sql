-- One row per catalogue product, with its lifetime sales (zero for a product never sold).
-- Incremental: recomputed are the products with a recently ingested order, plus the products whose catalogue
-- entry is new or changed since the last run (so a seed edit reaches this table without a full refresh).
with

products as (

    select * from {{ ref('stg_products') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

{% if is_incremental() %}
current_rows as (

    select * from {{ this }}

),

affected_products as (

    select distinct product as product_code
    from orders
    where {{ lakehouse.is_recently_ingested('ingested_at') }}

    union

    select products.product_code
    from products
    left join current_rows on products.product_code = current_rows.product_code
    where
        current_rows.product_code is null
        or products.product_name <> current_rows.product_name
        or products.category <> current_rows.category
        or products.list_price <> current_rows.list_price

),
{% endif %}

scoped_products as (

    select * from products
    {% if is_incremental() %}
    where product_code in (select affected_products.product_code from affected_products)
    {%- endif %}

),

product_sales as (

    select
        product,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as order_count,
        sum(quantity) as total_quantity,
        sum(revenue) as total_revenue,
        max(ingested_at) as last_ingested_at

    from orders
    where product in (select scoped_products.product_code from scoped_products)
    group by product

),

final as (

    select
        cast(scoped_products.product_code as varchar) as product_code,
        cast(scoped_products.product_name as varchar) as product_name,
        cast(scoped_products.category as varchar) as category,
        cast(scoped_products.list_price as decimal(10, 2)) as list_price,
        cast(product_sales.first_order_date as date) as first_order_date,
        cast(product_sales.last_order_date as date) as last_order_date,
        cast(coalesce(product_sales.order_count, 0) as bigint) as order_count,
        cast(coalesce(product_sales.total_quantity, 0) as bigint) as total_quantity,
        cast(coalesce(product_sales.total_revenue, 0) as decimal(18, 2)) as total_revenue,
        cast(product_sales.last_ingested_at as {{ lakehouse.type_timestamp() }}) as last_ingested_at

    from scoped_products
    left join product_sales on scoped_products.product_code = product_sales.product

)

select * from final
