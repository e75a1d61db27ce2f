-- The run's (user, item) history by snapshot index, for the checks that no seen item is recommended and that
-- every list is as long as the user's unseen items allow. Kept in integers: joined to 15M list rows, string
-- ids cost several times as much (the ids are looked up only for the rows a check reports).
create or replace temp view snapshot_history as
select user_index, item_index from read_parquet({{ interactions_path }})
