-- Ranks run 1..n without gaps or repeats for each user.
with per_user as (
    select user_id, count(*) as n_rows, count(distinct rank) as n_ranks, min(rank) as min_rank, max(rank) as max_rank
    from release.recommendations
    group by user_id
),

final as (
    select * from per_user
    where min_rank <> 1 or max_rank <> n_rows or n_ranks <> n_rows
)

select * from final
