-- Grain: one row per customer per calendar month with a purchase or a scored or activity event.
-- The counts the engagement score needs (engagement/engagement_score.py), so a window made of whole months is a
-- sum over a few rows per customer; the days of a window's partial first and last months are read from the raw
-- events and purchases (sql/engagement/customer_scores.sql). Not sorted: ordering 4.7M rows at 1M customers costs
-- about a second per load and saves a scan step of a few tens of milliseconds.
with monthly_events as (
    select
        customer_id,
        date_trunc('month', occurred_at)::date as activity_month,
        count(*) filter (where event_type = 'email_click')::integer as email_clicks,
        count(*) filter (where event_type = 'sms_click')::integer as sms_clicks,
        count(*) filter (where event_type = 'site_visit')::integer as site_visits,
        count(*) filter (where event_type = 'review')::integer as reviews,
        count(*) filter (where event_type = 'referral')::integer as referrals,
        count(*) filter (where event_type = 'community_post')::integer as community_posts,
        count(*) filter (where event_type = 'email_open')::integer as email_opens,
        count(*) filter (where event_type = 'sms_delivered')::integer as sms_delivered,
        count(*) filter (where event_type = 'social_follow')::integer as social_follows
    from events
    where event_type in ('email_click', 'sms_click', 'site_visit', 'review', 'referral', 'community_post',
                         'email_open', 'sms_delivered', 'social_follow')
    group by all
),

monthly_purchases as (
    select
        customer_id,
        date_trunc('month', ordered_at)::date as activity_month,
        count(*)::integer as orders,
        sum(net_revenue)::decimal(18, 2) as revenue
    from order_facts
    group by all
),

final as (
    select
        c.customer_key,
        activity_month,
        coalesce(p.orders, 0) as orders,
        coalesce(p.revenue, 0)::decimal(18, 2) as revenue,
        coalesce(e.email_clicks, 0) as email_clicks,
        coalesce(e.sms_clicks, 0) as sms_clicks,
        coalesce(e.site_visits, 0) as site_visits,
        coalesce(e.reviews, 0) as reviews,
        coalesce(e.referrals, 0) as referrals,
        coalesce(e.community_posts, 0) as community_posts,
        coalesce(e.email_opens, 0) as email_opens,
        coalesce(e.sms_delivered, 0) as sms_delivered,
        coalesce(e.social_follows, 0) as social_follows
    from monthly_events as e
    full join monthly_purchases as p using (customer_id, activity_month)
    join engagement_customers as c using (customer_id)
)

select * from final
