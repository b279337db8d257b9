-- Grain: one row per fitted model (BG/NBD and Gamma-Gamma, on the calibration period and on the whole history) of the CLV models fitted when the data was loaded (derived clv_default_fits).
-- Parameters (r, alpha, a, b or p, q, gamma), standard errors, log-likelihood, customers and convergence, in the
-- order the result has them (see derived/clv_default_model.sql).
select * exclude (position) from clv_default_fits
order by position
