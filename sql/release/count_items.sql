-- The catalogue size of the run's snapshot (a user with fewer unseen items gets fewer rows).
select count(*) as n_items from read_parquet({{ items_path }})
