-- Every released row by integer keys, for the figures of the published lists (jobs.publish.list_metrics): -1
-- for a placement, user or item without a key (outside tonight's placements, or unknown to the snapshot), 0
-- for a missing rank; no row order is needed.
select
    coalesce(placement_key, -1)   as placement_key,
    coalesce(user_index, -1)      as user_index,
    coalesce(item_index, -1)      as item_index,
    coalesce(rank, 0)             as rank,
    coalesce(promoted, false)     as promoted
from published_list_keys
