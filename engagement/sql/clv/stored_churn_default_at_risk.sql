-- Grain: one row per customer at risk (churn risk >= 0.5), the 200 with the highest lifetime revenue first:
-- derived churn_default_at_risk, scored by the churn model fitted when the data was loaded
-- (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_at_risk
order by position
