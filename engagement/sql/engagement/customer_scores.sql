-- Grain: one row per selected customer known before $end_exclusive: behaviour counts in the window
-- [$start, $end_exclusive), the weighted engagement score ($w_* weights), the engaged flag
-- (score >= $threshold) and, kept apart and never scored, activity counts (opens, deliveries, follows).
-- The window's whole months [$whole_months_start, $whole_months_end) are summed from derived engagement_months
-- (a few rows per customer); only the days before and after them (a partial first or last month) are read from
-- the raw events and purchases. Revenue to date is the lifetime revenue less the purchases from $end_exclusive on
-- (the days up to $later_months_start, then whole months). engagement_score.window_params computes the bounds.
-- Customers are grouped and joined on their integer customer_key.
with selected_customers as (
    select customer_key, customer_id, acquisition_channel, lifecycle_stage, known_since, lifetime_revenue
    from engagement_customers
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
      and known_since < $end_exclusive
),

whole_months as (
    -- Grouped on its own, straight from the table, so DuckDB keeps its column statistics (64-bit sums).
    select
        customer_key,
        sum(orders) as orders, sum(revenue) as revenue, sum(email_clicks) as email_clicks,
        sum(sms_clicks) as sms_clicks, sum(site_visits) as site_visits, sum(reviews) as reviews,
        sum(referrals) as referrals, sum(community_posts) as community_posts, sum(email_opens) as email_opens,
        sum(sms_delivered) as sms_delivered, sum(social_follows) as social_follows
    from engagement_months
    where activity_month >= $whole_months_start and activity_month < $whole_months_end
    group by customer_key
),

partial_months as (
    -- The days outside the whole months: events in the window, purchases in it or after it until
    -- $later_months_start, and the purchases of later months (revenue after the window only).
    select
        customer_key,
        sum(orders) as orders, sum(revenue) as revenue, sum(revenue_after_window) as revenue_after_window,
        sum(email_clicks) as email_clicks, sum(sms_clicks) as sms_clicks, sum(site_visits) as site_visits,
        sum(reviews) as reviews, sum(referrals) as referrals, sum(community_posts) as community_posts,
        sum(email_opens) as email_opens, sum(sms_delivered) as sms_delivered, sum(social_follows) as social_follows
    from (
        select
            c.customer_key,
            0 as orders, 0::decimal(18, 2) as revenue, 0::decimal(18, 2) as revenue_after_window,
            (e.event_type = 'email_click')::integer as email_clicks,
            (e.event_type = 'sms_click')::integer as sms_clicks,
            (e.event_type = 'site_visit')::integer as site_visits,
            (e.event_type = 'review')::integer as reviews,
            (e.event_type = 'referral')::integer as referrals,
            (e.event_type = 'community_post')::integer as community_posts,
            (e.event_type = 'email_open')::integer as email_opens,
            (e.event_type = 'sms_delivered')::integer as sms_delivered,
            (e.event_type = 'social_follow')::integer as social_follows
        from events as e
        join engagement_customers as c using (customer_id)
        where ((e.occurred_at >= $start and e.occurred_at < $whole_months_start)
               or (e.occurred_at >= $whole_months_end and e.occurred_at < $end_exclusive))
          and e.event_type in ('email_click', 'sms_click', 'site_visit', 'review', 'referral', 'community_post',
                               'email_open', 'sms_delivered', 'social_follow')
        union all
        select
            c.customer_key,
            (o.ordered_at < $end_exclusive)::integer,
            case when o.ordered_at < $end_exclusive then o.net_revenue else 0 end,
            case when o.ordered_at < $end_exclusive then 0 else o.net_revenue end,
            0, 0, 0, 0, 0, 0, 0, 0, 0
        from order_facts as o
        join engagement_customers as c using (customer_id)
        where (o.ordered_at >= $start and o.ordered_at < $whole_months_start)
           or (o.ordered_at >= $whole_months_end and o.ordered_at < $later_months_start)
        union all
        select customer_key, 0, 0, revenue, 0, 0, 0, 0, 0, 0, 0, 0, 0
        from engagement_months
        where activity_month >= $later_months_start and orders > 0
    )
    group by customer_key
),

counted as (
    select
        s.customer_key,
        s.customer_id,
        s.acquisition_channel,
        s.lifecycle_stage,
        epoch($end_exclusive::timestamp - s.known_since) / 86400.0 as tenure_days,
        (coalesce(w.orders, 0) + coalesce(p.orders, 0))::bigint as orders,
        (coalesce(w.email_clicks, 0) + coalesce(p.email_clicks, 0))::bigint as email_clicks,
        (coalesce(w.sms_clicks, 0) + coalesce(p.sms_clicks, 0))::bigint as sms_clicks,
        (coalesce(w.site_visits, 0) + coalesce(p.site_visits, 0))::bigint as site_visits,
        (coalesce(w.reviews, 0) + coalesce(p.reviews, 0))::bigint as reviews,
        (coalesce(w.referrals, 0) + coalesce(p.referrals, 0))::bigint as referrals,
        (coalesce(w.community_posts, 0) + coalesce(p.community_posts, 0))::bigint as community_posts,
        (coalesce(w.email_opens, 0) + coalesce(p.email_opens, 0))::bigint as email_opens,
        (coalesce(w.sms_delivered, 0) + coalesce(p.sms_delivered, 0))::bigint as sms_delivered,
        (coalesce(w.social_follows, 0) + coalesce(p.social_follows, 0))::bigint as social_follows,
        (coalesce(w.revenue, 0) + coalesce(p.revenue, 0))::double as revenue,
        (s.lifetime_revenue - coalesce(p.revenue_after_window, 0))::double as revenue_to_date
    from selected_customers as s
    left join whole_months as w using (customer_key)
    left join partial_months as p using (customer_key)
),

scored as (
    select
        *,
        (orders * $w_orders + email_clicks * $w_email_clicks + sms_clicks * $w_sms_clicks
            + site_visits * $w_site_visits + reviews * $w_reviews + referrals * $w_referrals
            + community_posts * $w_community_posts)::double as score
    from counted
),

final as (
    select *, score >= $threshold as is_engaged
    from scored
)

select * from final
