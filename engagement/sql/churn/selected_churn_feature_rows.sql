-- Grain: one row per customer of `churn_feature_rows` (churn/stored_churn_current_features.sql: every customer's
-- churn features as of the end of the data) in the selection ($channels, $segments): customers whose channel
-- and stage in derived customer_summary are selected, i.e. the rows churn/churn_features.sql computes for that
-- selection (each row depends on its own customer only).
with selected_customers as (
    select customer_id
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select *
    from churn_feature_rows
    where customer_id in (select customer_id from selected_customers)
)

-- The order churn/churn_features.sql gives them.
select * from final
order by customer_id
