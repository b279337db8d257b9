-- Grain: one row per experiment in experiment_assignments: its arms, size and assignment span, and the moment
-- the data ends (to tell whether every outcome window is complete). Which arm is the control (a holdout the ROI
-- page can measure incremental revenue against) is decided in Python by the Experiments page's own rule
-- (engagement.experiments.analysis.control_arm), so both pages name one control.
with final as (
    select
        experiment_id,
        list(distinct variant order by variant) as variants,
        count(*) as customers,
        min(assigned_at) as first_assigned_at,
        max(assigned_at) as last_assigned_at
    from experiment_assignments
    group by experiment_id
    order by first_assigned_at desc, experiment_id
)

select
    final.*,
    (select as_of from dataset_facts) as data_as_of
from final
