-- Grain: one row per calibration repeat-purchase bin (0..6, 7+), the holdout check of the CLV models fitted when the data was loaded (derived clv_default_holdout_bins).
-- Predicted and actual mean holdout purchases per bin, in the order the result has them (see
-- derived/clv_default_model.sql).
select * exclude (position) from clv_default_holdout_bins
order by position
