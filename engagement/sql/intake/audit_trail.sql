-- Grain: one row per recorded action (a load, an undo, a saved notebook or mapping), newest first.
WITH final AS (
    SELECT acted_at, actor, role, action, load_id, target, detail, via
    FROM audit_log
)
SELECT * FROM final
ORDER BY acted_at DESC, load_id DESC NULLS LAST
LIMIT $limit
