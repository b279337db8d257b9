-- Grain: one row: the churn model fitted when the data was loaded, with the page's default settings (derived churn_default_model).
-- Fitted by engagement/retention/churn.py on churn/churn_features.sql's rows for those settings (derived
-- churn_training_features and churn_current_features): the settings, the holdout quality and the fit's
-- seconds (see derived/churn_default_model.sql). The rest of its result is read by churn/stored_churn_default_*.sql.
select * from churn_default_model
