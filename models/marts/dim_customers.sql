-- One row per customer: first and last order date, orders, lifetime revenue and home country.
-- Home country = the country with the most orders; ties go to the higher revenue there, then the smallest code.
-- Incremental: every customer with a recently ingested order is recomputed from their whole history.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

{% if is_incremental() %}
affected_customers as (

    select distinct customer_id
    from orders
    where {{ lakehouse.is_recently_ingested('ingested_at') }}

),
{% endif %}

customer_orders as (

    select * from orders
    {% if is_incremental() %}
    where customer_id in (select affected_customers.customer_id from affected_customers)
    {%- endif %}

),

per_country as (

    select
        customer_id,
        country,
        count(*) as country_orders,
        sum(revenue) as country_revenue

    from customer_orders
    group by customer_id, country

),

ranked_countries as (

    select
        customer_id,
        country,
        row_number() over (
            partition by customer_id
            order by country_orders desc, country_revenue desc, country asc
        ) as country_rank

    from per_country

),

home_countries as (

    select
        customer_id,
        country as home_country

    from ranked_countries
    where country_rank = 1

),

customer_totals as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as order_count,
        sum(revenue) as lifetime_revenue,
        max(ingested_at) as last_ingested_at

    from customer_orders
    group by customer_id

),

final as (

    select
        cast(customer_totals.customer_id as varchar) as customer_id,
        cast(home_countries.home_country as varchar) as home_country,
        cast(customer_totals.first_order_date as date) as first_order_date,
        cast(customer_totals.last_order_date as date) as last_order_date,
        cast(customer_totals.order_count as bigint) as order_count,
        cast(customer_totals.lifetime_revenue as decimal(18, 2)) as lifetime_revenue,
        cast(customer_totals.last_ingested_at as {{ lakehouse.type_timestamp() }}) as last_ingested_at

    from customer_totals
    inner join home_countries on customer_totals.customer_id = home_countries.customer_id

)

select * from final
