-- Grain: one row per load (file loaded into one canonical table), newest first.
SELECT
    load_id,
    kind,
    file_name,
    source_format,
    rows_read,
    rows_loaded,
    rows_updated,
    rows_quarantined,
    loaded_at,
    undone_at,
    validation_summary ->> '$.engine' AS validation_engine,
    sha256
FROM loads
ORDER BY load_id DESC
LIMIT $limit
