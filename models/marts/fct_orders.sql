{{ config(
    partitioned_by=lakehouse.partition_by_month('order_date'),
    pre_hook="{{ lakehouse.delete_absorbed_moves() }}",
) }}
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
-- the dates of the versions they replace (from int_order_versions). With var('absorb_moved_orders'), the
-- pre-hook first deletes the rows silver's sweep removed (macros/late_silver.sql).
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
        order_id,
        order_date,
        order_month,
        customer_id,
        country,
        country_name,
        region,
        product,
        product_name,
        category,
        quantity,
        unit_price,
        revenue,
        source_file,
        ingested_at

    from changed

)

select * from final
