{{ config(partitioned_by=lakehouse.partition_by_month('order_date')) }}
-- depends_on: {{ ref('int_order_versions') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('ingested_at') %}
{#- The merge reads only the target's order dates these orders are on, or were on before a correction, when the log
    holds every version merged here (not so after `dbt build -s fct_orders+` without it: the whole target then) -#}
{%- set unlogged = 'select count(*) from ' ~ ref('int_orders_enriched') ~ ' as orders where ingested_at > ' ~ start
    ~ ' and not exists (select 1 from ' ~ ref('int_order_versions') ~ ' as logged where logged.ingested_at > ' ~ start
    ~ ' and logged.order_id = orders.order_id and logged.ingested_at = orders.ingested_at)' %}
{%- if lakehouse.reads_warehouse() and run_query(unlogged).columns[0].values()[0] == 0 %}
{%- do lakehouse.prune_merge_target('order_date', lakehouse.key_list(
    'select order_date from (' ~ lakehouse.changed_keys(['order_date'], start, with_fct_orders=false) ~ ') as moved'
    ~ ' union select order_date from ' ~ ref('int_orders_enriched') ~ ' where ingested_at > ' ~ start,
    'date',
)) %}
{%- endif %}
{%- endif %}

-- One row per order, with its product category and its country region.
-- Incremental: the orders ingested since the watermark (minus the lookback) are merged on order_id, so a
-- correction replaces the version it corrects; the merge reads only the order dates the new versions are on and
-- the dates of the versions they replace (from int_order_versions).
with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

changed as (

    select * from orders
    {% if is_incremental() %}
    where ingested_at > {{ start }}
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
