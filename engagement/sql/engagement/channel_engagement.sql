-- Grain: one row per messaging channel (email, sms, push) for the selected customers in the window
-- [$start, $end_exclusive): sends, recipients, clicks, clickers, and clicks followed by a purchase within
-- $conversion_days days (1 to 90). Opens are counted only to be shown apart, as activity.
-- Reads the small derived tables message_send_days, click_facts, click_purchases and email_open_days, never the
-- raw messages or events.
with sends as (
    -- A recipient is counted at their first send in the window: the one whose previous send was before it.
    select
        channel,
        sum(sends)::bigint as sends,
        coalesce(sum(sends) filter (where previous_sent_on is null or previous_sent_on < $start::date), 0)::bigint
            as recipients
    from message_send_days
    where sent_on >= $start::date and sent_on < $end_exclusive::date
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
    group by channel
),

clicks as (
    select *
    from click_facts
    where clicked_at >= $start and clicked_at < $end_exclusive
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

click_totals as (
    select
        channel,
        count(*) as clicks,
        count(distinct customer_id) as clickers,
        count(*) filter (where next_purchase_at <= clicked_at + to_days($conversion_days::integer))
            as converted_clicks
    from clicks
    group by channel
),

orders_after_clicks as (
    -- Each purchase once per channel, however many of the channel's clicks it followed.
    select channel, count(*) as orders_after_click, sum(net_revenue)::double as revenue_after_click
    from (
        select distinct channel, order_id, net_revenue
        from click_purchases
        where clicked_at >= $start and clicked_at < $end_exclusive
          and ordered_at <= clicked_at + to_days($conversion_days::integer)
          and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
          and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
    )
    group by channel
),

opens as (
    select 'email' as channel, coalesce(sum(opens), 0)::bigint as opens
    from email_open_days
    where opened_on >= $start::date and opened_on < $end_exclusive::date
      and (len($channels::varchar[]) = 0 or list_contains($channels::varchar[], acquisition_channel))
      and (len($segments::varchar[]) = 0 or list_contains($segments::varchar[], lifecycle_stage))
),

channels as (
    select channel from sends
    union
    select channel from click_totals
),

final as (
    select
        ch.channel,
        coalesce(s.sends, 0) as sends,
        coalesce(s.recipients, 0) as recipients,
        coalesce(t.clicks, 0) as clicks,
        coalesce(t.clickers, 0) as clickers,
        coalesce(t.converted_clicks, 0) as converted_clicks,
        coalesce(a.orders_after_click, 0) as orders_after_click,
        coalesce(a.revenue_after_click, 0) as revenue_after_click,
        op.opens as opens_activity
    from channels as ch
    left join sends as s using (channel)
    left join click_totals as t using (channel)
    left join orders_after_clicks as a using (channel)
    left join opens as op using (channel)
    order by ch.channel
)

select * from final
