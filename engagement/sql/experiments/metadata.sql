-- Grain: one row per experiment in the `experiments` export (its metadata: name, hypothesis, programme,
-- metrics, intended split, planned units, dates); experiments only assigned, never described, are absent.
with described as (
    select
        experiment_id, name, hypothesis, programme, primary_metric, guardrail_metrics, intended_split,
        planned_units, start_date, end_date
    from experiments
),

final as (
    select * from described
)

select * from final
order by experiment_id
