-- Every user's published list (the default placement) as JSON item objects joined by ',', with the byte offset
-- at which each rank's object ends, so the HTTP API answers ?top=N with one slice (jobs.api.index).
with fragments as (
    select user_id, rank,
           json_object('item_id', item_id, 'rank', rank, 'score', score, 'promoted', promoted)::varchar as fragment
    from recommendations
),
final as (
    select user_id, rank, fragment,
           sum(strlen(fragment) + 1) over (partition by user_id order by rank) - 1 as fragment_end
    from fragments
)
select user_id, string_agg(fragment, ',' order by rank) as body, list(fragment_end order by rank) as ends
from final
group by user_id
