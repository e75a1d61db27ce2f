-- Item metadata (title, genres, free text, availability) from landing/items; the latest file to mention an item
-- wins. Warehouses made before the availability window get its columns from migrate/006 and 007.
create table if not exists items (
    item_id      varchar primary key,
    title        varchar,
    genres       varchar,               -- '|'-separated
    description  varchar,
    source_file  varchar not null,
    -- last, where migrate/ adds them too, so new and migrated warehouses have the same column order
    available_from   timestamp,         -- UTC; null: available from the start (and for MovieLens files)
    available_until  timestamp          -- UTC; null: available to the end
)
