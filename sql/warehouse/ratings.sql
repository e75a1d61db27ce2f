-- Every valid rating row ever loaded (an append-only log). Re-ratings of the same (user, item) are kept here;
-- sql/training/interactions.sql and jobs/train/snapshot.py resolve them (latest timestamp wins).
create table if not exists ratings (
    user_id      varchar not null,
    item_id      varchar not null,
    rating       double not null,
    rated_at     timestamp not null,
    source_file  varchar not null,
    source_line  bigint not null
)
