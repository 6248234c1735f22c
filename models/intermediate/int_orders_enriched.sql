-- Orders with their country's region and their product's category: the one place the reference data is joined.
-- Left joins, so an order never silently disappears (relationship tests catch an unknown code).
with

orders as (

    select * from {{ ref('stg_orders') }}

),

countries as (

    select * from {{ ref('stg_countries') }}

),

products as (

    select * from {{ ref('stg_products') }}

),

enriched as (

    select
        orders.order_id,
        orders.order_date,
        {{ lakehouse.month_start('orders.order_date') }} as order_month,
        orders.customer_id,
        orders.country,
        countries.country_name,
        countries.region,
        orders.product,
        products.product_name,
        products.category,
        orders.quantity,
        orders.unit_price,
        orders.revenue,
        orders.source_file,
        orders.ingested_at

    from orders
    left join countries on orders.country = countries.country_code
    left join products on orders.product = products.product_code

)

select * from enriched
