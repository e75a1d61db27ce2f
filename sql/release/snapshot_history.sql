-- The run's (user, item) history by id, for the checks that no seen item is recommended.
create or replace view snapshot_history as
select users.user_id, items.item_id
from read_parquet({{ interactions_path }}) as history
join read_parquet({{ users_path }}) as users using (user_index)
join read_parquet({{ items_path }}) as items using (item_index)
