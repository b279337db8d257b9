-- Grain: one row per alert rule on a registered metric (removed rules are deleted; audit_log keeps who did it).
create table if not exists alert_rules (
    rule_id bigint primary key,
    metric varchar not null,
    kind varchar not null,           -- 'below', 'above', 'down_by', 'up_by' or 'below_target'
    threshold double,                -- in the metric's unit (a share as a fraction); null for 'below_target'
    comparison varchar not null,     -- 'year' (same period last year) or 'previous' (the period just before)
    period_days integer not null,    -- the window the rule reads, ending on the data's last order date
    email varchar,                   -- who is told when it triggers (null: shown in the app and digest only)
    created_by varchar not null,
    created_at timestamp not null
)
