-- Grain: one row per messaging channel per send day per day of the customer's previous send on that channel per
-- acquisition channel per lifecycle stage: how many sends. Small (campaigns go out on few days), and exact for any
-- window of whole days [start, end): sends = the rows' sends in the window; recipients (distinct customers) = the
-- sends in the window whose previous send on the channel was before the start (each recipient's first send in
-- the window, counted once), so distinct counts need no per-customer scan.
with sends as (
    select
        customer_id,
        channel,
        sent_at::date as sent_on,
        lag(sent_at::date) over (partition by customer_id, channel order by sent_at) as previous_sent_on
    from messages
),

final as (
    select
        s.channel,
        s.sent_on,
        s.previous_sent_on,
        c.acquisition_channel,
        c.lifecycle_stage,
        count(*) as sends
    from sends as s
    join customer_summary as c using (customer_id)
    group by all
)

select * from final
order by sent_on
