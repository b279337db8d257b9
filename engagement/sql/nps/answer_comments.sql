-- Grain: one row per answer of kind $kind with a non-empty comment in the window ($start,
-- $end_exclusive) from the selected customers ($channels, $segments): the newest $limit of them
-- (theme extraction cost grows with the number of comments). Category: top box (score >= $top_min),
-- bottom box (score <= $bottom_max) or middle.
with selected_customers as (
    select customer_id
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select
        s.response_id,
        s.responded_at,
        s.score,
        case
            when s.score >= $top_min then 'top'
            when s.score <= $bottom_max then 'bottom'
            else 'middle'
        end as category,
        trim(s.comment) as comment
    from surveys as s
    semi join selected_customers using (customer_id)
    where s.kind = $kind
      and s.responded_at >= $start
      and s.responded_at < $end_exclusive
      and nullif(trim(s.comment), '') is not null
    order by s.responded_at desc, s.response_id
    limit $limit
)

select * from final
