-- Grain: one row per registered metric with a target (the latest an analyst set; earlier ones are in audit_log).
create table if not exists metric_targets (
    metric varchar primary key,
    target double not null,
    direction varchar not null,  -- 'at_least' (higher is better) or 'at_most'
    set_by varchar not null,
    set_at timestamp not null
)
