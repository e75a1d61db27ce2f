-- The popular lists, as in api/recommendation_lists: '' = popular_items as published (GET /popular); 'default' =
-- the same with "promoted": false, the fallback of the default placement for users it has no list for; each named
-- placement's fallback = the popular items that placement shows some user in this version (so its filter held
-- for them tonight), ranked again 1..n.
with placements as (
    select '' as placement, item_id, rank, score from popular_items
    union all
    select 'default', item_id, rank, score from popular_items
    union all
    select shown.placement, popular.item_id, popular.rank, popular.score
    from popular_items as popular
    join (select distinct placement, item_id from placement_recommendations) as shown using (item_id)
),
ranked as (
    select placement, item_id, score, row_number() over (partition by placement order by rank) as rank
    from placements
),
fragments as (
    select placement, rank,
           case when placement = ''
                then json_object('item_id', item_id, 'rank', rank, 'score', score)
                else json_object('item_id', item_id, 'rank', rank, 'score', score, 'promoted', false)
           end::varchar as fragment
    from ranked
),
final as (
    select placement, rank, fragment,
           sum(strlen(fragment) + 1) over (partition by placement order by rank) - 1 as fragment_end
    from fragments
)
select placement, string_agg(fragment, ',' order by rank) as body, list(fragment_end order by rank) as ends
from final
group by placement
