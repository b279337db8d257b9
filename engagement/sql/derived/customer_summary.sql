-- Grain: one row per customer (customer_facts, with the default lifecycle stage).
-- The stage depends on the dataset as a whole: recency is measured from the "as of" moment and cut at the brand's
-- own at-risk and lapsed days, and the VIP cut is the top decile of buyers' revenue (dataset_facts). A load moves
-- those for everyone, but changes the stage of few customers: this table is recomputed for every customer from
-- the small customer_facts rows and the one row of cuts, and a load rewrites only the rows that differ
-- (engagement/derived_update.py). Days since the last order are not stored: they change with every load
-- (lifecycle/customer_stages.sql computes them at the moment asked for).
with facts as (
    select * from dataset_facts
),

final as (
    select
        f.customer_id,
        f.created_at,
        f.is_implied,
        f.acquisition_channel,
        f.country,
        f.is_loyalty_member,
        f.loyalty_tier,
        f.accepts_marketing,
        f.first_order_at,
        f.last_order_at,
        f.order_count,
        f.revenue,
        f.first_order_revenue,
        f.is_first_order_discounted,
        f.gap_before_last_order_days,
        f.cohort_month,
        case
            when f.order_count = 0 then 'prospect'
            when epoch(facts.as_of - f.last_order_at) / 86400.0 > facts.lapsed_days then 'lapsed'
            when epoch(facts.as_of - f.last_order_at) / 86400.0 > facts.at_risk_days then 'at_risk'
            when f.gap_before_last_order_days > facts.lapsed_days then 'won_back'
            when f.revenue >= facts.vip_revenue or f.loyalty_tier = 'gold' then 'vip'
            when f.order_count = 1 then 'new'
            else 'repeat'
        end as lifecycle_stage,
        f.customer_key
    from customer_facts as f
    cross join facts
)

select * from final
