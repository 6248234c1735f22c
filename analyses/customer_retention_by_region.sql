-- Ad-hoc analysis (compiled by dbt, never materialised): per region and first-order month, how many customers
-- came back in a later month. `dbt compile -s customer_retention_by_region`, then run the SQL in
-- target/compiled/ against the warehouse or Athena.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

countries as (

    select * from {{ ref('stg_countries') }}

),

cohorts as (

    select
        countries.region,
        cast({{ dbt.date_trunc('month', 'customers.first_order_date') }} as date) as cohort_month,
        count(*) as customers,
        sum(
            case
                when
                    {{ dbt.date_trunc('month', 'customers.last_order_date') }}
                    > {{ dbt.date_trunc('month', 'customers.first_order_date') }}
                    then 1
                else 0
            end
        ) as returning_customers

    from customers
    inner join countries on customers.home_country = countries.country_code
    group by 1, 2

),

final as (

    select
        region,
        cohort_month,
        customers,
        returning_customers,
        cast(returning_customers as double) / customers as retention_rate

    from cohorts

)

select * from final
