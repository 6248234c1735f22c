{{ config(lakehouse.merge_deleting_emptied_keys('order_count')) }}
-- depends_on: {{ ref('int_order_versions') }}, {{ ref('fct_orders') }}
{%- if is_incremental() %}
{%- set start = lakehouse.incremental_window_start('last_ingested_at') %}
{%- endif %}

-- One row per customer: first and last order date, orders, lifetime revenue and home country.
-- Home country = the country with the most orders; ties go to the higher revenue there, then the smallest code.
-- Rolled up from the customer's months (int_customer_months): a row per month and country they ordered in, not per
-- order.
-- Incremental: every customer with a recently ingested order version, or whose order a correction gave to another
-- customer, is recomputed from all their months; a customer left with no order is emitted with order_count = 0,
-- which the merge deletes.
with

{% if is_incremental() %}
affected_customers as (

    {{ lakehouse.changed_keys(['customer_id'], start) }}

),
{% endif %}

customer_months as (

    select * from {{ ref('int_customer_months') }}
    {% if is_incremental() %}
    where customer_id in (select affected_customers.customer_id from affected_customers)
    {%- endif %}

),

per_country as (

    select
        customer_id,
        country,
        sum(order_count) as country_orders,
        sum(revenue) as country_revenue

    from customer_months
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
        min(first_order_date) as first_order_date,
        max(last_order_date) as last_order_date,
        sum(order_count) as order_count,
        sum(revenue) as lifetime_revenue,
        max(last_ingested_at) as last_ingested_at

    from customer_months
    group by customer_id

),

customers as (

    select
        customer_totals.customer_id,
        home_countries.home_country,
        customer_totals.first_order_date,
        customer_totals.last_order_date,
        customer_totals.order_count,
        customer_totals.lifetime_revenue,
        customer_totals.last_ingested_at

    from customer_totals
    inner join home_countries on customer_totals.customer_id = home_countries.customer_id

),

merged as (

    {% if is_incremental() -%}
    {{ lakehouse.with_emptied_keys(
        'customers',
        'affected_customers',
        ['customer_id'],
        [
            'customer_id', 'home_country', 'first_order_date', 'last_order_date', 'order_count', 'lifetime_revenue',
            'last_ingested_at',
        ],
    ) }}
    {%- else -%}
    select * from customers
    {%- endif %}

),

final as (

    select
        customer_id,
        home_country,
        first_order_date,
        last_order_date,
        -- sum() widens: DuckDB sums a bigint to hugeint, and both engines sum money to decimal(38, 2)
        cast(order_count as bigint) as order_count,
        cast(lifetime_revenue as decimal(18, 2)) as lifetime_revenue,
        last_ingested_at

    from merged

)

select * from final
