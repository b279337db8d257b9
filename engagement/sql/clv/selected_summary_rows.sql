-- Grain: one row per customer of `summary_rows` (a stored CLV summary for every customer:
-- clv/stored_calibration_summary.sql or clv/stored_history_summary.sql) in the selection ($channels,
-- $segments): customers whose channel and stage in derived customer_summary, which `purchases` copies, are
-- selected, i.e. the customers clv/customer_summary.sql selects from the purchases.
with selected_customers as (
    select customer_id
    from customer_summary
    where (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

final as (
    select *
    from summary_rows
    where customer_id in (select customer_id from selected_customers)
)

select * from final
