-- The report's tables section: rows and distinct keys of the per-day tables.
select 'recommendations' as table_name, count(*) as n_rows, count(distinct user_id) as n_keys from recommendations
union all
select 'popular_items', count(*), count(distinct item_id) from popular_items
union all
select 'similar_items', count(*), count(distinct item_id) from similar_items
