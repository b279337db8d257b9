-- Grain: one row per tenth of current churn risk that holds customers: derived churn_default_risk_bands, current
-- customers scored by the churn model fitted when the data was loaded (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_risk_bands
order by position
