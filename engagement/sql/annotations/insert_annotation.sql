-- Grain: inserts one row: one annotation, numbered one more than the highest number stored.
insert into annotations (annotation_id, noted_on, note, created_by, created_at)
select coalesce(max(annotation_id), 0) + 1, $noted_on, $note, $created_by, $created_at
from annotations
returning annotation_id
