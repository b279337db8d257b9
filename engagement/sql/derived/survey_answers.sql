-- Grain: one row per survey answer from a known customer, with the attributes the shared filters select
-- on. Ordered by answer time so a windowed read skips row groups outside the dates, without a join.
with final as (
    select
        s.response_id,
        s.customer_id,
        s.responded_at,
        s.kind,
        s.score,
        c.acquisition_channel,
        c.lifecycle_stage,
        c.is_loyalty_member
    from surveys as s
    join customer_summary as c using (customer_id)
    order by s.responded_at
)

select * from final
