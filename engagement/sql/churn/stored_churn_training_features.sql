-- Grain: one row per sampled customer of derived churn_training_features, which stores churn/churn_features.sql's rows for the default 90-day horizon (see derived/churn_training_features.sql).
select * from churn_training_features
