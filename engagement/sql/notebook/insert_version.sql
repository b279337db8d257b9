-- Grain: inserts one row: one saved version of one named notebook.
insert into saved_notebooks (name, version, cells, description, saved_at)
values ($name, $version, $cells, $description, $saved_at)
