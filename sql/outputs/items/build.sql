-- items: item. The catalogue's metadata, so consumers can show titles beside recommendations.
create table release.items as
with items as (
    select * from main.items
),

final as (
    select item_id, title, genres, description, available_from, available_until from items
)

select * from final order by item_id
