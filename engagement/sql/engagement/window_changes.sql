-- Grain: one row per customer with an event or purchase in only one of the windows [$start, $end_exclusive) and [$stored_start, $stored_end_exclusive) (overlapping, $end_exclusive <= $stored_end_exclusive): the change of each count of engagement/customer_counts.sql from the second window to the first.
-- Each event or purchase that entered the window adds one, each that left it takes one away; revenue in the
-- window changes likewise, and revenue to date loses the purchases from $end_exclusive on (DECIMAL, exact).
-- They lie in two ranges, at the start and at the end of the windows, so only the days by which the windows
-- differ are read: events and purchases are in date order, and a range on the time column itself lets
-- DuckDB skip the rest. engagement/moved_window_counts.sql adds these changes to the stored counts.
with changes as (
    -- +1 for an event or purchase that entered the window, -1 for one that left it.
    select customer_id, event_type as kind, case when occurred_at >= $start then 1 else -1 end as change,
           null::decimal(18, 2) as net_revenue, false as after_end
    from events
    where occurred_at >= least($start, $stored_start) and occurred_at < greatest($start, $stored_start)
    union all
    select customer_id, event_type, -1, null, false
    from events
    where occurred_at >= $end_exclusive and occurred_at < $stored_end_exclusive
    union all
    select customer_id, 'purchase', case when ordered_at >= $start then 1 else -1 end, net_revenue, false
    from purchases
    where ordered_at >= least($start, $stored_start) and ordered_at < greatest($start, $stored_start)
    union all
    select customer_id, 'purchase', -1, net_revenue, true
    from purchases
    where ordered_at >= $end_exclusive and ordered_at < $stored_end_exclusive
),

changed as (
    select
        customer_id,
        coalesce(sum(change) filter (where kind = 'purchase'), 0) as orders,
        coalesce(sum(change) filter (where kind = 'email_click'), 0) as email_clicks,
        coalesce(sum(change) filter (where kind = 'sms_click'), 0) as sms_clicks,
        coalesce(sum(change) filter (where kind = 'site_visit'), 0) as site_visits,
        coalesce(sum(change) filter (where kind = 'review'), 0) as reviews,
        coalesce(sum(change) filter (where kind = 'referral'), 0) as referrals,
        coalesce(sum(change) filter (where kind = 'community_post'), 0) as community_posts,
        coalesce(sum(change) filter (where kind = 'email_open'), 0) as email_opens,
        coalesce(sum(change) filter (where kind = 'sms_delivered'), 0) as sms_delivered,
        coalesce(sum(change) filter (where kind = 'social_follow'), 0) as social_follows,
        coalesce(sum(change * net_revenue) filter (where kind = 'purchase'), 0) as revenue,
        coalesce(-sum(net_revenue) filter (where after_end), 0) as revenue_to_date
    from changes
    where kind in ('purchase', 'email_click', 'sms_click', 'site_visit', 'review', 'referral', 'community_post',
                   'email_open', 'sms_delivered', 'social_follow')
    group by customer_id
)

select * from changed
