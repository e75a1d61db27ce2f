-- Every named placement's published lists, per user, as in api/recommendation_lists.
with fragments as (
    select placement, user_id, rank,
           json_object('item_id', item_id, 'rank', rank, 'score', score, 'promoted', promoted)::varchar as fragment
    from placement_recommendations
),
final as (
    select placement, user_id, rank, fragment,
           sum(strlen(fragment) + 1) over (partition by placement, user_id order by rank) - 1 as fragment_end
    from fragments
)
select placement, user_id, string_agg(fragment, ',' order by rank) as body, list(fragment_end order by rank) as ends
from final
group by placement, user_id
