-- The quarantine per ingest day and reason: how many bronze rows the silver job rejected, from how many files.
-- Reads the source directly: quarantined rows are raw strings with no key of their own, so there is nothing to
-- stage one row at a time; this count is what the KPI report and an alert need.
with

rejected as (

    select * from {{ source('silver', 'silver_orders_rejected') }}

),

daily as (

    select
        -- this model reads the source itself, so it types the source's columns as a staging model would
        cast(ingest_date as date) as ingest_date,
        coalesce(reject_reason, 'unknown') as reject_reason,
        count(*) as rejected_rows,
        count(distinct source_file) as source_files,
        max(ingested_at) as last_ingested_at

    from rejected
    group by cast(ingest_date as date), coalesce(reject_reason, 'unknown')

),

final as (

    select
        ingest_date,
        reject_reason,
        rejected_rows,
        source_files,
        -- the source's timestamp, typed as staging would (this model reads the source itself)
        cast(last_ingested_at as timestamp) as last_ingested_at

    from daily

)

select * from final
