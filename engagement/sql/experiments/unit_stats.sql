-- Grain: one row per segment per variant per metric of a per-unit results file.
-- Reads `unit_values` (one row per unit per metric: segment, variant, metric, metric_value, covariate;
-- registered by engagement/experiments/analysis.py) and returns the sufficient statistics the tests need.
with unit_rows as (
    select segment, variant, metric, metric_value::double as metric_value, covariate::double as covariate
    from unit_values
),

final as (
    select
        segment,
        variant,
        metric,
        count(*) as n,
        sum(metric_value) as total,
        sum(metric_value * metric_value) as sum_squares,
        sum(covariate) as covariate_total,
        sum(covariate * covariate) as covariate_sum_squares,
        sum(metric_value * covariate) as cross_products,
        0 as units_window_incomplete
    from unit_rows
    group by segment, variant, metric
)

select * from final
order by segment, variant, metric
