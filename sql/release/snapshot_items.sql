-- The run's catalogue with its snapshot indexes and availability windows, for the check that no unavailable item
-- is recommended (and to name the items the integer-keyed checks find).
create or replace temp view snapshot_items as
select item_index, item_id, available_from, available_until from read_parquet({{ items_path }})
