-- Grain: one row per rule per evaluation (after a load, or `alerts check`), triggered or not.
create table if not exists alert_events (
    rule_id bigint not null,
    evaluated_at timestamp not null,
    load_id bigint,                  -- the newest load the evaluation read
    triggered boolean not null,
    message varchar not null,
    emailed_to varchar               -- null when no e-mail was sent
)
