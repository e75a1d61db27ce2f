-- One row per published list (placement x user): its rows, promoted rows, ranks and distinct items, counted in
-- one pass over published_list_keys for the checks on list length, ranks, repeated items and promoted slots.
create or replace temp table published_list_sizes as
select
    placement_key,
    user_index,
    unknown_user_id,
    count(*)                                as n_rows,
    count(*) filter (where promoted)        as n_promoted,
    min(rank)                               as min_rank,
    max(rank)                               as max_rank,
    -- the distinct ranks, as count(distinct rank) counts them: ranks 1..1024 (the length of any list, in
    -- practice) as bits, the others (none, in a list that passes) as a list; count(distinct) per group cost 5x
    coalesce(bit_count(bitstring_agg(rank, 1, 1024) filter (where rank between 1 and 1024)), 0)
        + coalesce(len(list_distinct(list(rank) filter (where rank not between 1 and 1024))), 0) as n_ranks,
    -- the distinct items, an id the snapshot does not know by its string (a missing id counts in neither)
    len(list_distinct(list(item_index)))
        + coalesce(len(list_distinct(list(unknown_item_id) filter (where unknown_item_id is not null))), 0) as n_items
from published_list_keys
group by placement_key, user_index, unknown_user_id
