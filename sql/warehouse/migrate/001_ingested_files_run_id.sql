-- Warehouses made before ingested_files recorded which run ingested each file (runs.rows_ingested sums it).
alter table ingested_files add column if not exists run_id varchar
