-- Grain: at most one row: version $version of notebook $name, or its latest version when $version is null.
select name, version, cells::varchar as cells, description, saved_at
from saved_notebooks
where name = $name
  and ($version::integer is null or version = $version::integer)
order by version desc
limit 1
