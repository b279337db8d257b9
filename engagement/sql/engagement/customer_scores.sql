-- Grain: one row per customer of `customer_counts` (engagement/customer_counts.sql, its stored default
-- window, or engagement/moved_window_counts.sql) in the selection ($channels, $segments; an empty list selects
-- all): the counts, revenue as doubles, the weighted engagement score ($w_* weights) and the engaged flag
-- (score >= $threshold).
with selected_counts as (
    select * exclude (known_since) replace (revenue::double as revenue, revenue_to_date::double as revenue_to_date)
    from customer_counts
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

scored as (
    select
        *,
        (orders * $w_orders + email_clicks * $w_email_clicks + sms_clicks * $w_sms_clicks
            + site_visits * $w_site_visits + reviews * $w_reviews + referrals * $w_referrals
            + community_posts * $w_community_posts)::double as score
    from selected_counts
),

final as (
    select *, score >= $threshold as is_engaged
    from scored
)

select * from final
