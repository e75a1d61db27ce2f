-- Every rating a run trains on, strictly before the run's cut-off ($as_of, the data interval end; null =
-- everything), keyed by the snapshot's user and item indexes, in CSR order (user, then item). Re-ratings of a
-- (user, item) come newest first (ties on time go to the later file and line), so the first row of each pair is
-- the one the snapshot keeps: jobs/train/snapshot.py drops the rest while it streams this into the file. One
-- sort on integer keys does it; a window or a hash aggregate over 20M string pairs cost three times as much.
with ratings as (
    select user_id, item_id, rating, rated_at, source_file, source_line
    from ratings
    where $as_of::timestamp is null or rated_at < $as_of::timestamp
),

keyed as (
    select
        users.user_index,
        items.item_index,
        ratings.rating::float as rating,
        epoch(ratings.rated_at)::bigint as rated_at_epoch,
        ratings.rated_at,
        ratings.source_file,
        ratings.source_line
    from ratings
    join snapshot_users as users using (user_id)
    join snapshot_items as items using (item_id)
)

select user_index, item_index, rating, rated_at_epoch
from keyed
order by user_index, item_index, rated_at desc, source_file desc, source_line desc
