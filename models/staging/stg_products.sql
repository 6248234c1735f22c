-- Reference data: one row per product of the catalogue.
with

source as (

    select * from {{ ref('products') }}

),

renamed as (

    select
        cast(product_code as varchar) as product_code,
        cast(product_name as varchar) as product_name,
        cast(category as varchar) as category,
        cast(list_price as decimal(10, 2)) as list_price

    from source

)

select * from renamed
