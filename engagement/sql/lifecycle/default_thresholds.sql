-- Grain: one row for the whole dataset: the default stage thresholds and what they come from.
select
    f.as_of,
    f.first_order_at,
    f.at_risk_days,
    f.lapsed_days,
    (select count(*) from order_facts where days_since_previous_order is not null) as purchase_gaps,
    (select quantile_cont(days_since_previous_order, 0.8) from order_facts
        where days_since_previous_order is not null) as p80_gap_days,
    (select quantile_cont(days_since_previous_order, 0.5) from order_facts
        where days_since_previous_order is not null) as median_gap_days
from dataset_facts as f
