-- Grain: one row per customer who bought in the RFM page's default window: derived rfm_default_window_customers, which stores rfm/window_customers.sql's rows for that window and every customer (see derived/rfm_default_window_customers.sql).
select * from rfm_default_window_customers
