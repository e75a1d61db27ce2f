-- Warehouses made before items carried an availability window (items.sql; null: open on that side).
alter table items add column if not exists available_from timestamp
