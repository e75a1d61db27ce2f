-- The run's catalogue with availability windows, for the check that no unavailable item is recommended.
create or replace view snapshot_items as
select item_id, available_from, available_until from read_parquet({{ items_path }})
