-- Grain: one row per customer of derived churn_current_features, which stores churn/churn_features.sql's rows as of the end of the data for every customer (see derived/churn_current_features.sql): the rows scored for any horizon.
select * from churn_current_features
