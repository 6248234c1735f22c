{{ config(
    partitioned_by=lakehouse.partition_by_month('order_date'),
    **lakehouse.merge_deleting_emptied_keys('order_count'),
) }}
-- depends_on: {{ ref('int_order_versions') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- set changed_grains = lakehouse.changed_keys(['order_date', 'country', 'product'], start) %}
{%- set affected_dates = lakehouse.key_list(
    'select order_date from (' ~ changed_grains ~ ') as changed_grains', 'date'
) %}
{%- do lakehouse.prune_merge_target('order_date', affected_dates) %}
{%- endif %}

-- Sales per order date, country and product: the table the dashboard reads.
-- Incremental: every order date touched by a recently ingested order version (new, late or corrected), or left by
-- a corrected order, is recomputed whole from fct_orders and merged on (order_date, country, product); a grain
-- the corrections emptied is emitted with order_count = 0, which the merge deletes.
with

orders as (

    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where order_date in {{ affected_dates }}
    {%- endif %}

),

aggregated as (

    select
        order_date,
        country,
        product,
        sum(quantity) as total_quantity,
        sum(revenue) as total_revenue,
        -- fct_orders holds one row per order_id (tested unique)
        count(*) as order_count,
        max(ingested_at) as last_ingested_at

    from orders
    group by order_date, country, product

),

{% if is_incremental() %}
changed_grains as (

    {{ changed_grains }}

),
{% endif %}

merged as (

    {% if is_incremental() -%}
    {{ lakehouse.with_emptied_keys(
        'aggregated',
        'changed_grains',
        ['order_date', 'country', 'product'],
        ['order_date', 'country', 'product', 'total_quantity', 'total_revenue', 'order_count', 'last_ingested_at'],
    ) }}
    {%- else -%}
    select * from aggregated
    {%- endif %}

),

final as (

    select
        order_date,
        country,
        product,
        -- sum() widens: DuckDB sums a bigint to hugeint, and both engines sum money to decimal(38, 2)
        cast(total_quantity as bigint) as total_quantity,
        cast(total_revenue as decimal(18, 2)) as total_revenue,
        order_count,
        last_ingested_at

    from merged

)

select * from final
-- rows written by order date (a merge appends the newest at the end): each DuckDB row group then holds a few
-- dates, so a read of the dates or months a day touched skips the rest by its zone maps, as Athena skips partitions
order by order_date
