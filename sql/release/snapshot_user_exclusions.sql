-- The run's per-user exclusions by snapshot index, for the check that every list is as long as the user's
-- unseen items allow. A table, not a view: the planner then knows how few rows it holds and hashes these, not
-- the 20M history rows, when it matches the two. Pairs whose user or item the snapshot does not know block no
-- list of a snapshot user.
create or replace temp table snapshot_user_exclusions as
select users.user_index, items.item_index
from snapshot_exclusions as exclusions
join snapshot_users as users using (user_id)
join snapshot_items as items using (item_id)
