-- Items similar to one item, by every method, with titles (replace the item id).
with similar_rows as (
    select * from similar_items where item_id = (select min(item_id) from similar_items)
),

final as (
    select similar_rows.method, similar_rows.rank, similar_rows.similar_item_id, items.title, round(similar_rows.score, 4) as score
    from similar_rows
    left join items on items.item_id = similar_rows.similar_item_id
)

select * from final order by method, rank
