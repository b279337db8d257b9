-- Grain: one row per refused row of one load (the row as the file had it, with its reason).
SELECT
    row_number,
    reason,
    CAST(row_json AS VARCHAR) AS row_json
FROM quarantine
WHERE load_id = $load_id
ORDER BY row_number
