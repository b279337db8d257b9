-- Grain: one row per day per acquisition channel per lifecycle stage: e-mail opens by known customers. Opens are
-- activity, shown beside the channels' clicks and never scored; a window's opens are a sum over these few rows.
with final as (
    select
        e.occurred_at::date as opened_on,
        c.acquisition_channel,
        c.lifecycle_stage,
        count(*) as opens
    from events as e
    join customer_summary as c using (customer_id)
    where e.event_type = 'email_open'
    group by all
)

select * from final
order by opened_on
