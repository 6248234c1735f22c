{{ config(
    partitioned_by=lakehouse.partition_by_month('order_month'),
    **lakehouse.merge_deleting_emptied_keys('order_count'),
) }}
-- depends_on: {{ ref('int_order_versions') }}, {{ ref('fct_orders') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- set changed = lakehouse.changed_keys(['order_date', 'product'], start) %}
{%- set affected_months = lakehouse.changed_months(changed) %}
{%- do lakehouse.prune_merge_target('order_month', affected_months) %}
{%- endif %}

-- One row per product and order month: orders, quantity, revenue, first and last order date. dim_products rolls
-- these up (a row per month a product sold in) instead of reading every order of the products it recomputes.
-- Built from gold_orders (a row per order date, country and product), which holds the same sums and is exact
-- after every build.
-- Incremental: the product x month grains of the recently ingested order versions, and of the versions they
-- replaced, are recomputed from gold_orders, which is read for those months only; a grain left without orders is
-- emitted with order_count = 0, which the merge deletes.
with

{% if is_incremental() %}
changed_grains as (

    select distinct
        product,
        {{ lakehouse.month_start('order_date') }} as order_month

    from ({{ changed }}) as changed

),
{% endif %}

daily_sales as (

    select
        *,
        {{ lakehouse.month_start('order_date') }} as order_month

    from {{ ref('gold_orders') }}
    {% if is_incremental() %}
    where {{ lakehouse.in_months('order_date', affected_months) }}
    {%- endif %}

),

product_months as (

    select
        product,
        order_month,
        sum(order_count) as order_count,
        sum(total_quantity) as total_quantity,
        sum(total_revenue) as total_revenue,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        max(last_ingested_at) as last_ingested_at

    from daily_sales
    {% if is_incremental() %}
    where
        (product, order_month) in (
            select
                changed_grains.product,
                changed_grains.order_month
            from changed_grains
        )
    {%- endif %}
    group by product, order_month

),

merged as (

    {% if is_incremental() -%}
    {{ lakehouse.with_emptied_keys(
        'product_months',
        'changed_grains',
        ['product', 'order_month'],
        [
            'product', 'order_month', 'order_count', 'total_quantity', 'total_revenue', 'first_order_date',
            'last_order_date', 'last_ingested_at',
        ],
    ) }}
    {%- else -%}
    select * from product_months
    {%- endif %}

),

final as (

    select
        product,
        order_month,
        -- sum() widens: DuckDB sums a bigint to hugeint, and both engines sum money to decimal(38, 2)
        cast(order_count as bigint) as order_count,
        cast(total_quantity as bigint) as total_quantity,
        cast(total_revenue as decimal(18, 2)) as total_revenue,
        first_order_date,
        last_order_date,
        last_ingested_at

    from merged

)

select * from final
-- rows written by month (a merge appends the newest at the end): each DuckDB row group then holds a few months,
-- so a read of the months a day touched skips the rest by its zone maps, as Athena skips partitions
order by order_month
