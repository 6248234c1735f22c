-- Silver orders with the contract's types made explicit: the single entry point of silver into dbt.
with

source as (

    select * from {{ source('silver', 'silver_orders') }}

),

renamed as (

    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(country as {{ dbt.type_string() }}) as country,
        cast(product as {{ dbt.type_string() }}) as product,
        cast(quantity as {{ dbt.type_bigint() }}) as quantity,
        cast(unit_price as decimal(10, 2)) as unit_price,
        cast(revenue as decimal(12, 2)) as revenue,
        cast(order_date as date) as order_date,
        cast(source_file as {{ dbt.type_string() }}) as source_file,
        cast(ingested_at as {{ dbt.type_timestamp() }}) as ingested_at

    from source

)

select * from renamed
