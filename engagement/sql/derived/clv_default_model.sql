-- Grain: one row: the CLV models fitted when the data was loaded, with the RFM/CLV page's default settings (those of the stored CLV summaries).
-- The settings they were fitted with (calibration end of derived/clv_calibration_summary.sql, observation end,
-- weeks, a 90-day horizon, every channel and segment, the model settings), the holdout check's totals and the
-- forecast's scalars, and why they could not be fitted (problem; the results are then null).
-- engagement/retention/clv_default.py fits them in the load's transaction, builds this table by running this file with the
-- fit's values bound, and stores the rest of the result beside it (clv_default_fits, _holdout_bins,
-- _forecast_bands, _top_customers). A request for exactly these settings reads them instead of fitting again.
-- fit_seconds is what the fit added to the load.
with final as (
    select
        $calibration_end::date as calibration_end,
        $observation_end::date as observation_end,
        $unit::varchar as unit,
        $horizon_days::integer as horizon_days,
        $channels::varchar[] as channels,
        $segments::varchar[] as segments,
        $model_settings::varchar as model_settings,
        $problem::varchar as problem,
        $holdout_customers::bigint as holdout_customers,
        $holdout_predicted_total::double as holdout_predicted_total,
        $holdout_actual_total::double as holdout_actual_total,
        $holdout_days::integer as holdout_days,
        $frequency_value_correlation::double as frequency_value_correlation,
        $groups::bigint as groups,
        $fit_seconds::double as fit_seconds
)

select * from final
