-- Per-user exclusions in force tonight as (user_index, item_index) of the snapshot; pairs whose user or item
-- the snapshot does not know cannot be recommended anyway and are counted by rule_counts.sql instead.
with exclusions as (
    select * from exclusions where user_id is not null
),

final as (
    select users.user_index, items.item_index
    from exclusions
    join users using (user_id)
    join items using (item_id)
)

select * from final order by user_index, item_index
