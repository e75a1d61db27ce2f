-- The tables of the published file (GET /health counts their rows).
select table_name from information_schema.tables
where table_catalog = current_database() and table_schema = 'main'
order by table_name
