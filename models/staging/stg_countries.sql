-- Reference data: one row per country the shop sells to.
with

source as (

    select * from {{ ref('countries') }}

),

renamed as (

    select
        cast(country_code as varchar) as country_code,
        cast(country_name as varchar) as country_name,
        cast(region as varchar) as region,
        cast(currency as varchar) as currency

    from source

)

select * from renamed
