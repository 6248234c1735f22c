-- depends_on: {{ ref('int_order_versions') }}, {{ ref('fct_orders') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- set catalogue_changes -%}
    select products.product_code
    from {{ ref('stg_products') }} as products
    left join {{ this }} as current_rows on products.product_code = current_rows.product_code
    where
        current_rows.product_code is null
        or products.product_name <> current_rows.product_name
        or products.category <> current_rows.category
        or products.list_price <> current_rows.list_price
{%- endset %}
{%- set affected_products = lakehouse.key_list(
    'select product from (' ~ lakehouse.changed_keys(['product'], start) ~ ') as sold'
    ~ ' union select product_code from (' ~ catalogue_changes ~ ') as catalogue',
    'varchar',
) %}
{%- endif %}

-- One row per catalogue product, with its lifetime sales (zero for a product never sold), rolled up from the
-- product's months (int_product_months): a row per month it sold in, not per order.
-- Incremental: recomputed are the products with a recently ingested order version, those a correction took an
-- order away from, plus the products whose catalogue entry is new or changed since the last run (so a seed edit
-- reaches this table without a full refresh).
with

products as (

    select * from {{ ref('stg_products') }}
    {% if is_incremental() %}
    where product_code in {{ affected_products }}
    {%- endif %}

),

product_months as (

    select * from {{ ref('int_product_months') }}
    {% if is_incremental() %}
    where product in {{ affected_products }}
    {%- endif %}

),

product_sales as (

    select
        product,
        min(first_order_date) as first_order_date,
        max(last_order_date) as last_order_date,
        sum(order_count) as order_count,
        sum(total_quantity) as total_quantity,
        sum(total_revenue) as total_revenue,
        max(last_ingested_at) as last_ingested_at

    from product_months
    group by product

),

final as (

    select
        products.product_code,
        products.product_name,
        products.category,
        products.list_price,
        product_sales.first_order_date,
        product_sales.last_order_date,
        -- sum() widens: DuckDB sums a bigint to hugeint
        cast(coalesce(product_sales.order_count, 0) as bigint) as order_count,
        -- sum() widens: DuckDB sums a bigint to hugeint, and both engines sum money to decimal(38, 2)
        cast(coalesce(product_sales.total_quantity, 0) as bigint) as total_quantity,
        cast(coalesce(product_sales.total_revenue, 0) as decimal(18, 2)) as total_revenue,
        product_sales.last_ingested_at

    from products
    left join product_sales on products.product_code = product_sales.product

)

select * from final
