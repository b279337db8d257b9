-- Grain: one row per customer id that has no key yet (every customer record, plus every id activity names).
-- Appended to customer_keys, never rebuilt: a customer's integer key is assigned once, when the id first
-- appears, and stays the same through later loads and undos (an id whose rows are undone keeps its key for
-- when it comes back). Views that group many rows by customer group by this integer, about 3x cheaper than by
-- the text id. New ids are numbered after the largest key, in customer_id order.
with known_customers as (
    select customer_id from customers
    union
    select customer_id from orders where customer_id is not null
    union
    select customer_id from events
    union
    select customer_id from surveys
    union
    select customer_id from experiment_assignments
),

last_key as (
    select coalesce(max(customer_key), 0) as customer_key from customer_keys
),

final as (
    select
        k.customer_id,
        (l.customer_key + row_number() over (order by k.customer_id))::integer as customer_key
    from known_customers as k
    cross join last_key as l
    where not exists (select 1 from customer_keys as c where c.customer_id = k.customer_id)
)

select * from final
