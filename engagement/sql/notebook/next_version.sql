-- Grain: one row: the version number the next save of notebook $name gets.
select coalesce(max(version), 0) + 1 as next_version
from saved_notebooks
where name = $name
