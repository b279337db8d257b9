-- Grain: one row per selected customer known before $end_exclusive ($channels, $segments; an empty list selects all): engagement/customer_counts.sql's rows for the window [$start, $end_exclusive), from its stored rows for an overlapping window.
-- The stored rows (derived engagement_default_counts: the window [$stored_start, $stored_end_exclusive), every
-- customer known before its end; here $end_exclusive <= $stored_end_exclusive, so every selected customer has
-- one) plus the changes of the events and purchases in one window only (`window_changes`:
-- engagement/window_changes.sql). Counts and revenue are exact (integers, DECIMAL), so the rows equal
-- customer_counts.sql's, at the cost of reading the days by which the windows differ instead of the window.
with moved as (
    select
        d.customer_id,
        d.acquisition_channel,
        d.lifecycle_stage,
        d.known_since,
        epoch($end_exclusive::timestamp - d.known_since) / 86400.0 as tenure_days,
        (d.orders + coalesce(c.orders, 0))::bigint as orders,
        (d.email_clicks + coalesce(c.email_clicks, 0))::bigint as email_clicks,
        (d.sms_clicks + coalesce(c.sms_clicks, 0))::bigint as sms_clicks,
        (d.site_visits + coalesce(c.site_visits, 0))::bigint as site_visits,
        (d.reviews + coalesce(c.reviews, 0))::bigint as reviews,
        (d.referrals + coalesce(c.referrals, 0))::bigint as referrals,
        (d.community_posts + coalesce(c.community_posts, 0))::bigint as community_posts,
        (d.email_opens + coalesce(c.email_opens, 0))::bigint as email_opens,
        (d.sms_delivered + coalesce(c.sms_delivered, 0))::bigint as sms_delivered,
        (d.social_follows + coalesce(c.social_follows, 0))::bigint as social_follows,
        d.revenue + coalesce(c.revenue, 0) as revenue,
        d.revenue_to_date + coalesce(c.revenue_to_date, 0) as revenue_to_date
    from engagement_default_counts as d
    left join window_changes as c using (customer_id)
    where d.known_since < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], d.acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], d.lifecycle_stage))
)

select * from moved
