-- Grain: one row per saved version of notebook $name, newest first.
select version, saved_at, json_array_length(cells) as cells, description
from saved_notebooks
where name = $name
order by version desc
