-- Reference data: one row per product of the catalogue.
with

source as (

    select * from {{ ref('products') }}

),

renamed as (

    select
        cast(product_code as {{ dbt.type_string() }}) as product_code,
        cast(product_name as {{ dbt.type_string() }}) as product_name,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(list_price as decimal(10, 2)) as list_price

    from source

)

select * from renamed
