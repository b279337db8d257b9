-- Grain: one row per customer known before the end of the Engagement page's default window
-- (engagement/customer_counts.sql stored for it, every channel and segment). This file selects that window
-- as the query's bound parameters; store.py builds the table by running the query with them. The default
-- window (dataset_facts) is kpis.default_filters: the 12 months up to the last purchase day (or all of the data when
-- shorter). engagement_score.py reads the table for that window with any selection, weights and threshold.
with final as (
    select
        default_window_start as start,
        default_window_end_exclusive as end_exclusive,
        []::varchar[] as channels,
        []::varchar[] as segments
    from dataset_facts
)

select * from final
