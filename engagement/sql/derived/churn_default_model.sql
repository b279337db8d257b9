-- Grain: one row: the churn model fitted when the data was loaded, with the page's default settings (those of the stored churn features).
-- The settings it was fitted with (those of derived/churn_training_features.sql), its holdout quality, and
-- why it could not be fitted (problem; the quality is then null). engagement/retention/churn.py fits the model in the
-- load's transaction, builds this table by running this file with the fit's values bound, and stores the rest
-- of the result beside it (churn_default_calibration, _importance, _risk_bands, _at_risk). A request for
-- exactly these settings reads them instead of fitting again. fit_seconds is what the fit added to the load.
with final as (
    select
        $horizon_days::integer as horizon_days,
        $cutoff::date as cutoff,
        $channels::varchar[] as channels,
        $segments::varchar[] as segments,
        $model_settings::varchar as model_settings,
        $problem::varchar as problem,
        $training_customers::bigint as training_customers,
        $holdout_customers::bigint as holdout_customers,
        $holdout_churned::bigint as holdout_churned,
        $auc::double as auc,
        $auc_ci_low::double as auc_ci_low,
        $auc_ci_high::double as auc_ci_high,
        $brier_score::double as brier_score,
        $base_rate::double as base_rate,
        $fit_seconds::double as fit_seconds
)

select * from final
