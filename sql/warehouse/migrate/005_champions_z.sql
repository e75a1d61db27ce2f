-- Warehouses made before the gate judged the reigning champion on the challenger's holdout (champions.sql).
alter table champions add column if not exists z double
