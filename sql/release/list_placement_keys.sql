-- Each placement's key in published_list_keys, for the figures of the published lists.
select placement, placement_key from list_placements
