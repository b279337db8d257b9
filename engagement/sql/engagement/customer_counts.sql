-- Grain: one row per selected customer known before $end_exclusive ($channels, $segments; an empty list
-- selects all): behaviour counts in the window [$start, $end_exclusive) and, kept apart and never scored,
-- activity counts (opens, deliveries, follows), with revenue in the window and to date. No weights here:
-- engagement/customer_scores.sql scores these counts, so the counts of the page's default window can be
-- stored at load (derived engagement_default_counts) and re-scored for any weights and threshold. Revenue
-- stays DECIMAL (exact), so that the stored rows can be moved to a nearby window exactly
-- (engagement/moved_window_counts.sql, which also needs known_since); engagement/customer_scores.sql turns
-- it into doubles.
with selected_customers as (
    select
        customer_id,
        acquisition_channel,
        lifecycle_stage,
        coalesce(created_at, first_order_at) as known_since
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
      and coalesce(created_at, first_order_at) < $end_exclusive
),

customer_orders as (
    select
        customer_id,
        count(*) filter (where ordered_at >= $start) as orders,
        coalesce(sum(net_revenue) filter (where ordered_at >= $start), 0) as revenue,
        sum(net_revenue) as revenue_to_date
    from order_facts
    where ordered_at < $end_exclusive
    group by customer_id
),

window_events as (
    select
        customer_id,
        count(*) filter (where event_type = 'email_click') as email_clicks,
        count(*) filter (where event_type = 'sms_click') as sms_clicks,
        count(*) filter (where event_type = 'site_visit') as site_visits,
        count(*) filter (where event_type = 'review') as reviews,
        count(*) filter (where event_type = 'referral') as referrals,
        count(*) filter (where event_type = 'community_post') as community_posts,
        count(*) filter (where event_type = 'email_open') as email_opens,
        count(*) filter (where event_type = 'sms_delivered') as sms_delivered,
        count(*) filter (where event_type = 'social_follow') as social_follows
    from events
    where occurred_at >= $start and occurred_at < $end_exclusive
      and event_type in ('email_click', 'sms_click', 'site_visit', 'review', 'referral', 'community_post',
                         'email_open', 'sms_delivered', 'social_follow')
    group by customer_id
),

counted as (
    select
        s.customer_id,
        s.acquisition_channel,
        s.lifecycle_stage,
        s.known_since,
        epoch($end_exclusive::timestamp - s.known_since) / 86400.0 as tenure_days,
        coalesce(o.orders, 0) as orders,
        coalesce(e.email_clicks, 0) as email_clicks,
        coalesce(e.sms_clicks, 0) as sms_clicks,
        coalesce(e.site_visits, 0) as site_visits,
        coalesce(e.reviews, 0) as reviews,
        coalesce(e.referrals, 0) as referrals,
        coalesce(e.community_posts, 0) as community_posts,
        coalesce(e.email_opens, 0) as email_opens,
        coalesce(e.sms_delivered, 0) as sms_delivered,
        coalesce(e.social_follows, 0) as social_follows,
        coalesce(o.revenue, 0) as revenue,
        coalesce(o.revenue_to_date, 0) as revenue_to_date
    from selected_customers as s
    left join customer_orders as o using (customer_id)
    left join window_events as e using (customer_id)
)

select * from counted
