-- Grain: one row per tenth of predicted risk on the holdout, for the churn model fitted when the data was loaded (derived churn_default_calibration).
-- Its calibration table, in the order the model's result has it (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_calibration
order by position
