-- For each recommended item, the item of the user's history most similar to it under the champion's
-- similarities ($method), either way round (each item keeps only its top neighbours).
with pairs as (
    select item_id as history_item_id, similar_item_id as recommended_item_id, score
    from similar_items
    where method = $method and item_id in (select unnest($history)) and similar_item_id in (select unnest($recommended))
    union all
    select similar_item_id as history_item_id, item_id as recommended_item_id, score
    from similar_items
    where method = $method and similar_item_id in (select unnest($history)) and item_id in (select unnest($recommended))
),

final as (
    select recommended_item_id, arg_max(history_item_id, score) as history_item_id, max(score) as score
    from pairs
    group by recommended_item_id
)

select final.recommended_item_id, final.history_item_id, items.title, final.score
from final
left join items on items.item_id = final.history_item_id
