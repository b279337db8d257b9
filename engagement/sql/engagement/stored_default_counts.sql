-- Grain: one row per customer known before the end of the Engagement page's default window: derived
-- engagement_default_counts, which stores engagement/customer_counts.sql's rows for that window and every
-- customer (see derived/engagement_default_counts.sql).
select * from engagement_default_counts
