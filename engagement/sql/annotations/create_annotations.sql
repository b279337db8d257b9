-- Grain: one row per annotation: a dated note (a campaign launch, a price change, Black Friday) drawn on every
-- time-series chart. Removing one deletes its row; the audit trail keeps who added and removed what.
create table if not exists annotations (
    annotation_id bigint primary key,
    noted_on date not null,
    note varchar not null,
    created_by varchar not null,
    created_at timestamp not null
)
