-- Grain: one row per feature, largest drop in holdout AUC first, for the churn model fitted when the data was loaded (derived churn_default_importance).
-- Its permutation importance, in the order the model's result has it (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_importance
order by position
