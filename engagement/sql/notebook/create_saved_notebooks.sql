-- Grain: one row per saved version of a named SQL notebook (versions count up from 1 per name).
create table if not exists saved_notebooks (
    name varchar not null,
    version integer not null,
    cells json not null,
    description varchar,
    saved_at timestamp not null,
    primary key (name, version)
)
