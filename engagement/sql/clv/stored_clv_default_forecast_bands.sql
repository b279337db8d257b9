-- Grain: one row per probability-alive band (tenths) per kind of customer (one purchase day or repeat) of the forecast of the CLV models fitted when the data was loaded (derived clv_default_forecast_bands).
-- Customers, expected purchases and predicted revenue per band, in the order the result has them (see
-- derived/clv_default_model.sql).
select * exclude (position) from clv_default_forecast_bands
order by position
