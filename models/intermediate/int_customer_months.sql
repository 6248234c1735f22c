{{ config(
    partitioned_by=lakehouse.partition_by_month('order_month'),
    **lakehouse.merge_deleting_emptied_keys('order_count'),
) }}
-- depends_on: {{ ref('int_order_versions') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- set changed = lakehouse.changed_keys(['order_date', 'country', 'customer_id'], start) %}
{%- set affected_months = lakehouse.changed_months(changed) %}
{%- do lakehouse.prune_merge_target('order_month', affected_months) %}
{%- endif %}

-- One row per customer, order month and country: the orders, revenue, first and last order date there. The
-- customer marts roll these up (at most a row per month and country of a customer) instead of reading every
-- order of the customers they recompute.
-- Incremental: the customer x month x country grains of the recently ingested order versions, and of the versions
-- they replaced, are recomputed from fct_orders, which is read for those months only; a grain left without
-- orders is emitted with order_count = 0, which the merge deletes.
with

{% if is_incremental() %}
changed_grains as (

    select distinct
        customer_id,
        {{ lakehouse.month_start('order_date') }} as order_month,
        country

    from ({{ changed }}) as changed

),
{% endif %}

orders as (

    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where
        order_month in {{ affected_months }}
        and (customer_id, order_month, country) in (
            select
                changed_grains.customer_id,
                changed_grains.order_month,
                changed_grains.country
            from changed_grains
        )
    {%- endif %}

),

customer_months as (

    select
        customer_id,
        order_month,
        country,
        max(region) as region,
        count(*) as order_count,
        sum(revenue) as revenue,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        max(ingested_at) as last_ingested_at

    from orders
    group by customer_id, order_month, country

),

merged as (

    {% if is_incremental() -%}
    {{ lakehouse.with_emptied_keys(
        'customer_months',
        'changed_grains',
        ['customer_id', 'order_month', 'country'],
        [
            'customer_id', 'order_month', 'country', 'region', 'order_count', 'revenue', 'first_order_date',
            'last_order_date', 'last_ingested_at',
        ],
    ) }}
    {%- else -%}
    select * from customer_months
    {%- endif %}

),

final as (

    select
        customer_id,
        order_month,
        country,
        region,
        order_count,
        -- sum() widens money to decimal(38, 2) on both engines
        cast(revenue as decimal(18, 2)) as revenue,
        first_order_date,
        last_order_date,
        last_ingested_at

    from merged

)

select * from final
-- rows written by month (a merge appends the newest at the end): each DuckDB row group then holds a few months,
-- so a read of the months a day touched skips the rest by its zone maps, as Athena skips partitions
order by order_month
