-- Grain: one row per annotation dated between $start and $end (both included; a null bound is open), oldest first.
with final as (
    select annotation_id, noted_on, note, created_by, created_at
    from annotations
    where ($start::date is null or noted_on >= $start::date)
      and ($end::date is null or noted_on <= $end::date)
)

select * from final
order by noted_on, annotation_id
