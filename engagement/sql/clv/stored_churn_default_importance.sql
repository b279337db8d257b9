-- Grain: one row per feature, largest drop first: derived churn_default_importance, the permutation importance
-- of the churn model fitted when the data was loaded (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_importance
order by position
