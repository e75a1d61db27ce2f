-- Every user of the run's snapshot has min(N, unseen items) rows: none missing, none short.
with expected as (
    select
        users.user_id,
        least($top_n, $n_items - count(history.item_id)) as n_expected
    from snapshot_users as users
    left join snapshot_history as history using (user_id)
    group by users.user_id
),

actual as (
    select user_id, count(*) as n_actual from release.recommendations group by user_id
),

final as (
    select expected.user_id, expected.n_expected, coalesce(actual.n_actual, 0) as n_actual
    from expected
    left join actual using (user_id)
    where coalesce(actual.n_actual, 0) <> expected.n_expected
)

select * from final
