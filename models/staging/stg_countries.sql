-- Reference data: one row per country the shop sells to.
with

source as (

    select * from {{ ref('countries') }}

),

renamed as (

    select
        cast(country_code as {{ dbt.type_string() }}) as country_code,
        cast(country_name as {{ dbt.type_string() }}) as country_name,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(currency as {{ dbt.type_string() }}) as currency

    from source

)

select * from renamed
