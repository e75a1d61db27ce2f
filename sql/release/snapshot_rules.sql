-- The run's exclusions in force at the cut-off, for the checks that no excluded item is recommended.
create or replace temp view snapshot_exclusions as
select user_id, item_id from read_parquet({{ exclusions_path }})
