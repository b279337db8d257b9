-- Grain: one row per tenth of current churn risk that holds customers, scored by the churn model fitted when the data was loaded (derived churn_default_risk_bands).
-- Customers and lifetime revenue per band, in the order the model's result has them (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_risk_bands
order by position
