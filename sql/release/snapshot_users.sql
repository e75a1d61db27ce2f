-- The run's users, for the checks that every user has their rows.
create or replace view snapshot_users as
select user_id from read_parquet({{ users_path }})
