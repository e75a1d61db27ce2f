-- Ranks run 1..n without gaps or repeats for each user in each placement.
with final as (
    select
        list_placements.placement,
        coalesce(users.user_id, lists.unknown_user_id) as user_id,
        lists.n_rows,
        lists.n_ranks,
        lists.min_rank,
        lists.max_rank
    from published_list_sizes as lists
    left join list_placements using (placement_key)
    left join snapshot_users as users using (user_index)
    where lists.min_rank <> 1 or lists.max_rank <> lists.n_rows or lists.n_ranks <> lists.n_rows
)

select * from final
