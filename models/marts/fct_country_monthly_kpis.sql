-- Per month and country: revenue, orders, average order value, active customers and new customers.
-- A new customer counts in the month and country of their first order (earliest order_date, then order_id).
-- Incremental: recomputed are the (month, country) pairs of recently ingested orders, plus the pair of each
-- affected customer's previous first order (a late order can make a customer "new" in an earlier month, and
-- no longer new in the month that counted them). Each recomputed pair is rebuilt from the whole history.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

{% if is_incremental() %}
changed_orders as (

    select *
    from orders
    where {{ lakehouse.is_recently_ingested('ingested_at') }}

),

previous_first_orders as (

    select
        customer_id,
        {{ lakehouse.min_by('order_month', lakehouse.first_order_key()) }} as order_month,
        {{ lakehouse.min_by('country', lakehouse.first_order_key()) }} as country

    from orders
    where
        customer_id in (select changed_orders.customer_id from changed_orders)
        and order_id not in (select changed_orders.order_id from changed_orders)
    group by customer_id

),

affected_grains as (

    select
        order_month,
        country
    from changed_orders

    union

    select
        order_month,
        country
    from previous_first_orders

),
{% endif %}

scoped as (

    select orders.*
    from orders
    {% if is_incremental() %}
    inner join affected_grains
        on
            orders.order_month = affected_grains.order_month
            and orders.country = affected_grains.country
    {%- endif %}

),

customer_first_orders as (

    select
        customer_id,
        {{ lakehouse.min_by('order_month', lakehouse.first_order_key()) }} as order_month,
        {{ lakehouse.min_by('country', lakehouse.first_order_key()) }} as country

    from orders
    {% if is_incremental() -%}
    where customer_id in (select scoped.customer_id from scoped)
    {%- endif %}
    group by customer_id

),

new_customers as (

    select
        order_month,
        country,
        count(*) as new_customers

    from customer_first_orders
    group by order_month, country

),

monthly as (

    select
        order_month,
        country,
        max(region) as region,
        sum(revenue) as revenue,
        count(*) as order_count,
        count(distinct customer_id) as active_customers,
        max(ingested_at) as last_ingested_at

    from scoped
    group by order_month, country

),

final as (

    select
        cast(monthly.order_month as date) as order_month,
        cast(monthly.country as varchar) as country,
        cast(monthly.region as varchar) as region,
        cast(monthly.revenue as decimal(18, 2)) as revenue,
        cast(monthly.order_count as bigint) as order_count,
        cast(
            {{ lakehouse.divide_money('monthly.revenue', 'monthly.order_count') }} as decimal(18, 2)
        ) as avg_order_value,
        cast(monthly.active_customers as bigint) as active_customers,
        cast(coalesce(new_customers.new_customers, 0) as bigint) as new_customers,
        cast(monthly.last_ingested_at as {{ lakehouse.type_timestamp() }}) as last_ingested_at

    from monthly
    left join new_customers
        on
            monthly.order_month = new_customers.order_month
            and monthly.country = new_customers.country

)

select * from final
