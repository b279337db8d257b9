-- Grain: one row per customer among the 100 highest predicted revenues of the forecast of the CLV models fitted when the data was loaded (derived clv_default_top_customers).
-- Highest predicted revenue first, as the result lists them (see derived/clv_default_model.sql).
select * exclude (position) from clv_default_top_customers
order by position
