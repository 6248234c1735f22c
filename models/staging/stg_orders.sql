-- Silver orders with the contract's types made explicit: the single entry point of silver into dbt.
with

source as (

    select * from {{ source('silver', 'silver_orders') }}

),

renamed as (

    select
        cast(order_id as varchar) as order_id,
        cast(customer_id as varchar) as customer_id,
        cast(country as varchar) as country,
        cast(product as varchar) as product,
        cast(quantity as bigint) as quantity,
        cast(unit_price as decimal(10, 2)) as unit_price,
        cast(revenue as decimal(12, 2)) as revenue,
        cast(order_date as date) as order_date,
        cast(source_file as varchar) as source_file,
        cast(ingested_at as {{ lakehouse.type_timestamp() }}) as ingested_at

    from source

)

select * from renamed
