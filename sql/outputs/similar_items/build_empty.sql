-- similar_items when no method applied tonight: the table exists, with its columns, and no rows.
create table release.similar_items (
    item_id varchar, rank integer, similar_item_id varchar, score float, method varchar, run_id varchar
)
