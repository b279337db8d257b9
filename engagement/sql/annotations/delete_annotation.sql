-- Grain: deletes at most one row: annotation $annotation_id; returns what it deleted.
delete from annotations
where annotation_id = $annotation_id
returning annotation_id, noted_on, note
