-- Grain: one row for the survey answers of one kind ($kind) from known customers, whatever the window and selection:
-- how many there are and the first and last day one was given (an empty window then says where the answers are,
-- or that none is loaded).
select
    count(*) as answers,
    min(responded_at)::date as first_day,
    max(responded_at)::date as last_day
from survey_answers
where kind = $kind
