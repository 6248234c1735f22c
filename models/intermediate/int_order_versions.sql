{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    table_type='iceberg',
    format='parquet',
    partitioned_by=lakehouse.partition_by_month('ingested_at'),
) }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('ingested_at') %}
{%- set replaced_dates = lakehouse.correction_dates(
    'order_date', 'select order_date, ingested_at from ' ~ ref('stg_orders') ~ ' where ingested_at > ' ~ start, start
) %}
{%- endif %}

-- Every version of every order gold has seen, with the keys the marts group by, and the keys of the version it
-- replaced. Append-only: silver keeps only an order's latest version, and by the time the marts run fct_orders
-- has merged it too; this log is where they find the keys a correction moved the order away from.
-- Incremental: the silver versions ingested after the log's watermark minus the lookback that it does not hold yet
-- are appended, each with its order's latest logged version as the previous one, looked for on the new versions'
-- order dates and within the correction horizon (lakehouse.correction_dates), not in the whole log.
with

orders as (

    select * from {{ ref('stg_orders') }}
    {% if is_incremental() %}
    where ingested_at > {{ start }}
    {%- endif %}

),

{% if is_incremental() %}
logged as (

    select * from {{ this }}
    where ingested_at > {{ start }}

),

history as (

    select * from {{ this }}
    where {{ replaced_dates }}

),

history_keys as (

    select * from {{ this }}
    where {{ replaced_dates }}

),

unseen as (

    select orders.*
    from orders
    left join logged
        on
            orders.order_id = logged.order_id
            and orders.ingested_at = logged.ingested_at
    where logged.order_id is null

),

-- the latest logged version of each unseen order (a correction's previous version): the log's order dates that
-- can hold it are probed on order_id alone; the keys are then read for the versions found only
latest_logged as (

    select
        order_id,
        max(ingested_at) as ingested_at

    from history
    where order_id in (select unseen.order_id from unseen)
    group by order_id

),

previous_versions as (

    select history_keys.*
    from history_keys
    inner join latest_logged
        on
            history_keys.order_id = latest_logged.order_id
            and history_keys.ingested_at = latest_logged.ingested_at

),
{% endif %}

final as (

    {% if is_incremental() -%}
    select
        unseen.order_id,
        unseen.ingested_at,
        unseen.order_date,
        unseen.customer_id,
        unseen.country,
        unseen.product,
        previous_versions.order_date as previous_order_date,
        previous_versions.customer_id as previous_customer_id,
        previous_versions.country as previous_country,
        previous_versions.product as previous_product

    from unseen
    left join previous_versions on unseen.order_id = previous_versions.order_id
    {%- else -%}
    select
        order_id,
        ingested_at,
        order_date,
        customer_id,
        country,
        product,
        -- a bare null has no type; a first build has no previous versions to take one from
        cast(null as date) as previous_order_date,
        cast(null as varchar) as previous_customer_id,
        cast(null as varchar) as previous_country,
        cast(null as varchar) as previous_product

    from orders
    {%- endif %}

)

select * from final
-- rows written by ingested_at (an append adds the newest at the end): each DuckDB row group then holds a run of
-- ingests, so the reads of a window's versions skip the rest by their zone maps, as Athena skips the month
-- partitions; a full refresh would otherwise interleave the history, and the one-row test read all of it
order by ingested_at
