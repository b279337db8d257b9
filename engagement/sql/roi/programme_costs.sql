-- Grain: one row per programme in program_costs: its cost prorated to the days of [$start, $end_exclusive)
-- (a month's cost spread evenly over its days), and the months with any cost in that span.
with months as (
    select
        program,
        cost::double as cost,
        period::timestamp as month_start,
        (period + interval 1 month)::timestamp as month_end
    from program_costs
),

overlap as (
    select
        program,
        cost,
        epoch(least(month_end, $end_exclusive::timestamp) - greatest(month_start, $start::timestamp))
            / epoch(month_end - month_start) as fraction
    from months
    where month_start < $end_exclusive and month_end > $start
),

final as (
    select program, sum(cost * fraction) as cost, count(*) as months
    from overlap
    group by program
    order by program
)

select * from final
