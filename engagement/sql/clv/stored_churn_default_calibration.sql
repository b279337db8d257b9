-- Grain: one row per tenth of predicted risk on the holdout: derived churn_default_calibration, the calibration
-- table of the churn model fitted when the data was loaded (see derived/churn_default_model.sql).
select * exclude (position) from churn_default_calibration
order by position
