-- Grain: one row for the whole orders table: how many orders there are and how many name a currency. Orders
-- that name none (a file without a currency column) are shown without a currency sign (engagement/metrics.py).
select count(*) as orders, count(currency) as with_currency
from orders
