-- Grain: one row per bottom-box answer (score <= $bottom_max) of kind $kind in the window ($start,
-- $end_exclusive) from the selected customers ($channels, $segments), newest first, at most $limit
-- rows. Carries what a follow-up call needs: the customer's lifecycle stage and value, and the comment.
with newest_answers as (
    -- the newest $limit answers first (from derived `survey_answers`, no join), then the customer facts
    -- for those few rows only.
    select response_id, customer_id, responded_at, score, comment, touchpoint, acquisition_channel, lifecycle_stage
    from survey_answers
    where kind = $kind
      and score <= $bottom_max
      and responded_at >= $start
      and responded_at < $end_exclusive
      and (not $with_comment_only or comment is not null)
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
    order by responded_at desc, response_id
    limit $limit
),

final as (
    select
        a.responded_at,
        a.customer_id,
        a.score,
        a.lifecycle_stage,
        c.revenue::double as lifetime_revenue,
        c.order_count,
        coalesce(c.last_order_at > a.responded_at, false) as has_purchased_since,
        a.comment,
        a.touchpoint,
        a.acquisition_channel,
        a.response_id
    from newest_answers as a
    join customer_summary as c using (customer_id)
    order by a.responded_at desc, a.response_id
)

select * from final
