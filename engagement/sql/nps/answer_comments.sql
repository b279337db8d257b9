-- Grain: one row per answer of kind $kind with a non-empty comment in the window ($start,
-- $end_exclusive) from the selected customers ($channels, $segments): the newest $limit of them
-- (theme extraction cost grows with the number of comments). Category: top box (score >= $top_min),
-- bottom box (score <= $bottom_max) or middle.
with final as (
    select
        response_id,
        responded_at,
        score,
        case
            when score >= $top_min then 'top'
            when score <= $bottom_max then 'bottom'
            else 'middle'
        end as category,
        comment
    from survey_answers
    where kind = $kind
      and responded_at >= $start
      and responded_at < $end_exclusive
      and comment is not null
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
    order by responded_at desc, response_id
    limit $limit
)

select * from final
