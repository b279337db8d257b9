-- Grain: one row per behaviour (scored engagement) or activity (recorded, never scored) in the
-- temporary customer_scores table: how many customers did it, how often, its weight and points.
with totals as (
    select
        count(*) as customers,
        sum(orders) as orders, count(*) filter (where orders > 0) as orders_customers,
        sum(email_clicks) as email_clicks, count(*) filter (where email_clicks > 0) as email_clicks_customers,
        sum(sms_clicks) as sms_clicks, count(*) filter (where sms_clicks > 0) as sms_clicks_customers,
        sum(site_visits) as site_visits, count(*) filter (where site_visits > 0) as site_visits_customers,
        sum(reviews) as reviews, count(*) filter (where reviews > 0) as reviews_customers,
        sum(referrals) as referrals, count(*) filter (where referrals > 0) as referrals_customers,
        sum(community_posts) as community_posts,
        count(*) filter (where community_posts > 0) as community_posts_customers,
        sum(email_opens) as email_opens, count(*) filter (where email_opens > 0) as email_opens_customers,
        sum(sms_delivered) as sms_delivered, count(*) filter (where sms_delivered > 0) as sms_delivered_customers,
        sum(social_follows) as social_follows,
        count(*) filter (where social_follows > 0) as social_follows_customers
    from customer_scores
),

final as (
    select 'orders' as behaviour, 'engagement' as kind, orders as occurrences,
           orders_customers as customers, $w_orders::double as weight, customers as population from totals
    union all select 'email_clicks', 'engagement', email_clicks, email_clicks_customers, $w_email_clicks, customers from totals
    union all select 'sms_clicks', 'engagement', sms_clicks, sms_clicks_customers, $w_sms_clicks, customers from totals
    union all select 'site_visits', 'engagement', site_visits, site_visits_customers, $w_site_visits, customers from totals
    union all select 'reviews', 'engagement', reviews, reviews_customers, $w_reviews, customers from totals
    union all select 'referrals', 'engagement', referrals, referrals_customers, $w_referrals, customers from totals
    union all select 'community_posts', 'engagement', community_posts, community_posts_customers, $w_community_posts,
                     customers from totals
    union all select 'email_opens', 'activity', email_opens, email_opens_customers, null, customers from totals
    union all select 'sms_delivered', 'activity', sms_delivered, sms_delivered_customers, null, customers from totals
    union all select 'social_follows', 'activity', social_follows, social_follows_customers, null, customers from totals
)

select * from final
