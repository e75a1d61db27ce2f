-- Ranks run 1..n without gaps or repeats for each user in each placement.
with per_list as (
    select placement, user_id, count(*) as n_rows, count(distinct rank) as n_ranks, min(rank) as min_rank,
           max(rank) as max_rank
    from published_lists
    group by placement, user_id
),

final as (
    select * from per_list
    where min_rank <> 1 or max_rank <> n_rows or n_ranks <> n_rows
)

select * from final
