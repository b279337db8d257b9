-- Grain: one row per bottom-box answer (score <= $bottom_max) of kind $kind in the window ($start,
-- $end_exclusive) from the selected customers ($channels, $segments), newest first, at most $limit
-- rows. Carries what a follow-up call needs: the customer's lifecycle stage and value, and the comment.
with selected_customers as (
    select customer_id, acquisition_channel, lifecycle_stage, revenue, order_count, last_order_at
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select
        s.responded_at,
        s.customer_id,
        s.score,
        c.lifecycle_stage,
        c.revenue::double as lifetime_revenue,
        c.order_count,
        coalesce(c.last_order_at > s.responded_at, false) as has_purchased_since,
        s.comment,
        coalesce(nullif(trim(s.touchpoint), ''), 'unknown') as touchpoint,
        c.acquisition_channel,
        s.response_id
    from surveys as s
    join selected_customers as c using (customer_id)
    where s.kind = $kind
      and s.score <= $bottom_max
      and s.responded_at >= $start
      and s.responded_at < $end_exclusive
      and (not $with_comment_only or nullif(trim(s.comment), '') is not null)
    order by s.responded_at desc, s.response_id
    limit $limit
)

select * from final
