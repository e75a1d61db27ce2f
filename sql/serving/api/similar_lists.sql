-- Every item's similar items per method, as in api/recommendation_lists (the similar item's id as "item_id").
with fragments as (
    select item_id, method, rank,
           json_object('item_id', similar_item_id, 'rank', rank, 'score', score, 'method', method)::varchar as fragment
    from similar_items
),
final as (
    select item_id, method, rank, fragment,
           sum(strlen(fragment) + 1) over (partition by item_id, method order by rank) - 1 as fragment_end
    from fragments
)
select item_id, method, string_agg(fragment, ',' order by rank) as body, list(fragment_end order by rank) as ends
from final
group by item_id, method
