-- Grain: one row: derived churn_default_model, the churn model (engagement/churn.py) fitted when the data was
-- loaded with the page's default settings, on clv/churn_features.sql's rows for them (derived
-- churn_training_features and churn_current_features): those settings, its holdout quality and the fit's
-- seconds (see derived/churn_default_model.sql). Its tables are read by clv/stored_churn_default_*.sql.
select * from churn_default_model
