-- Item metadata (title, genres, free text) from landing/items; the latest file to mention an item wins.
create table if not exists items (
    item_id      varchar primary key,
    title        varchar,
    genres       varchar,               -- '|'-separated
    description  varchar,
    source_file  varchar not null
)
