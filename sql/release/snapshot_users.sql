-- The run's users with their snapshot indexes, for the checks that every user has their rows (and to name the
-- users the integer-keyed checks find).
create or replace temp view snapshot_users as
select user_index, user_id from read_parquet({{ users_path }})
