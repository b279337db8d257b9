-- Grain: one row per named notebook, describing its latest version.
with versions as (
    select
        name,
        version,
        saved_at,
        description,
        json_array_length(cells) as cells,
        row_number() over (partition by name order by version desc) as recency
    from saved_notebooks
),

final as (
    select name, version as latest_version, cells, description, saved_at as last_saved_at
    from versions
    where recency = 1
)

select * from final
order by last_saved_at desc, name
