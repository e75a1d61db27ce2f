-- placement_recommendations when no named placement was scored tonight: the table, its columns, no rows.
create table release.placement_recommendations (
    placement varchar, user_id varchar, rank integer, item_id varchar, score float, promoted boolean,
    model varchar, run_id varchar, generated_at timestamp
)
