-- Grain: one row per customer of derived churn_current_features, which stores clv/churn_features.sql's rows for the default 90-day horizon (see derived/churn_current_features.sql).
select * from churn_current_features
