-- Grain: one row: the CLV models fitted when the data was loaded, with the RFM/CLV page's default settings (derived clv_default_model).
-- Fitted by engagement/retention/clv_default.py on clv/customer_summary.sql's rows for those settings (derived
-- clv_calibration_summary and clv_history_summary): the settings, the holdout check's totals, the forecast's
-- scalars and the fit's seconds (see derived/clv_default_model.sql). The rest of the result is read by
-- clv/stored_clv_default_*.sql.
select * from clv_default_model
