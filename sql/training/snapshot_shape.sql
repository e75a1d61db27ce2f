-- The snapshot's shape, for the fit-time estimates (models.cost.Shape): users, items, interactions, and the
-- co-occurrence pairs, the sum over users of the square of how many items each rated.
with interactions as (
    select user_index, item_index from read_parquet({{ interactions_path }})
),

per_user as (
    select count(*)::double as n_items from interactions group by user_index
),

final as (
    select
        (select count(distinct user_index) from interactions) as users,
        (select count(distinct item_index) from interactions) as items,
        (select count(*) from interactions) as n_interactions,
        (select sum(n_items * n_items) from per_user) as pairs
)

select * from final
