-- Grain: one row per currency of the loaded orders (upper-cased, as intake compares them), most orders first:
-- the currency amounts are shown in (engagement/metrics.py: money).
with final as (
    select upper(currency) as currency, count(*) as orders
    from orders
    where currency is not null
    group by upper(currency)
)

select * from final
order by orders desc, currency
