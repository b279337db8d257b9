-- Grain: one row per bottom-box answer (score <= $bottom_max) of kind $kind in the window ($start,
-- $end_exclusive) from the selected customers ($channels, $segments), newest first, at most $limit
-- rows. Carries what a follow-up call needs: the customer's lifecycle stage and value, and the comment.
with final as (
    -- derived `survey_answers` carries the customer's attributes and lifetime facts: no join.
    select
        responded_at,
        customer_id,
        score,
        lifecycle_stage,
        customer_revenue::double as lifetime_revenue,
        customer_order_count as order_count,
        coalesce(customer_last_order_at > responded_at, false) as has_purchased_since,
        comment,
        touchpoint,
        acquisition_channel,
        response_id
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
)

select * from final
