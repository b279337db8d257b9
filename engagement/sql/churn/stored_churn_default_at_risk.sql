-- Grain: one row per customer with churn risk >= 0.5 among the 200 highest lifetime revenues, scored by the churn model fitted when the data was loaded (derived churn_default_at_risk).
-- Highest lifetime revenue first, as the model's result lists them (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_at_risk
order by position
