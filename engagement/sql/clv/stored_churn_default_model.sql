-- Grain: one row: derived churn_default_model, the churn model fitted when the data was loaded with the page's
-- default settings: those settings and its holdout quality (see derived/churn_default_model.sql).
select * from churn_default_model
