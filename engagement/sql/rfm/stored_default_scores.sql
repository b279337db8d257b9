-- Grain: one row per customer who bought in the RFM page's default window, scored with every customer selected: derived rfm_default_scores, which stores rfm/customer_scores.sql over rfm_default_window_customers (see rfm.store_default_scores).
select * from rfm_default_scores
