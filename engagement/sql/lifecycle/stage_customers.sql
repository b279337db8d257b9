-- Grain: one row per customer in stage $stage at the single moment in $moments (reads customer_stages,
-- prepended by engagement/retention/lifecycle.py): the list a CX team activates in its e-mail tool.
select
    s.customer_id,
    k.email,
    coalesce(k.accepts_marketing, false) as accepts_marketing,
    s.lifecycle_stage,
    s.orders_so_far as orders,
    s.revenue_so_far::double as lifetime_revenue,
    round(s.days_since_last_order, 1) as days_since_last_order,
    c.acquisition_channel,
    c.loyalty_tier
from customer_stages as s
join customer_summary as c using (customer_id)
left join customers as k using (customer_id)
where s.lifecycle_stage = $stage
order by s.revenue_so_far desc, s.customer_id
