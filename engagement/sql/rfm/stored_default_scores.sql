-- Grain: one row per customer who bought in the RFM page's default window: derived rfm_default_scores, which stores rfm/customer_scores.sql's rows for that window (see derived/rfm_default_scores.sql).
select * from rfm_default_scores
